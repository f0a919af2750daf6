"""Calls and the stack: pushes without pulls, registers a callee destroys, mismatched call/return pairs
and interrupt handlers that do not put the CPU back as they found it."""

from __future__ import annotations

from curation.asm.behaviour import BehaviourSpec, Scenario
from curation.asm.cpu import word
from generators.bug_injection.case import Case
from generators.draw import Draw, h2, h4

_PUSH_PULL = {"A": ("PHA", "PLA"), "X": ("PHX", "PLX"), "Y": ("PHY", "PLY"), "P": ("PHP", "PLP"), "B": ("PHB", "PLB")}
_ENTRY = {"m8": True, "x8": True}  # ALttP's usual 8-bit A and X/Y on the way in
# What every routine here owes its caller, whatever the bug: it comes back, with the stack as it was.
RETURNS = ("returns", "stack_balanced")
_MARKER = 0x7E1F80  # a WRAM word no template draws: the interrupt stand-in records A there after RTI


def _dp(address: int) -> int:
    """The WRAM byte a direct-page address reaches with D = 0."""
    return 0x7E0000 | address


def entered_long(routine: str) -> bool | None:
    """Whether a routine's name says it is reached with JSL (``LongSub``, ``..._Hook``: True) or JSR
    (``ShortSub``: False); None where the name does not say. A routine must return the way it is reached."""
    if "Long" in routine or routine.endswith("Hook"):
        return True
    return False if "Short" in routine else None


def _interrupted(handler: str) -> str:
    """Code standing in for what an interrupt does to the main loop: push PB, PC and P as the CPU does in
    native mode, set I and clear D, enter ``handler``; where RTI comes back, record the full 16-bit A at
    ``_MARKER`` (PHP/PLP keep the widths and flags RTI restored) and return to the harness."""
    resume = f"{handler}_Resumed"
    lines = ["PHK", f"PEA {resume}", "PHP", "SEI", "CLD", f"JML {handler}", f"{resume}:"]
    lines += ["PHP", "REP #$20", f"STA.l ${_MARKER:06X}", "PLP", "RTS"]
    return "\n".join(lines)


def early_exit_skips_pulls(d: Draw) -> Case:
    """Registers pushed on entry, an early-exit branch that jumps past the pulls."""
    name = d.routine()
    regs = d.shuffled(["A", "X", "Y", "P", "B"])[: d.int(1, 3)]
    pushes = [_PUSH_PULL[r][0] for r in regs]
    pulls = [_PUSH_PULL[r][1] for r in reversed(regs)]
    test, work = d.scratch(), d.low_ram()
    skip = d.exit_label()
    branch = d.pick(["BEQ", "BNE", "BMI", "BPL"])
    head = [f"{name}:", *pushes, f"LDA {h2(test)}", f"{branch} {skip}", f"INC {work.absolute}"]
    buggy = d.asm([*head, *pulls, skip, "RTS"])
    fixed = d.asm([*head, skip, *pulls, "RTS"])
    pushed, pulled = "/".join(pushes), "/".join(pulls)
    # Both paths must come back with the stack and the saved registers as they were; only the fall-through
    # path counts {work}. The value at {test} decides the path: it takes the branch or falls through.
    takes, falls = {"BEQ": (0x00, 0x05), "BNE": (0x05, 0x00), "BMI": (0x90, 0x05), "BPL": (0x05, 0x90)}[branch]
    kept = (*RETURNS, "db_kept", "widths_kept", "x_kept", "y_kept")

    def path(title: str, value: int, counted: int) -> Scenario:
        return Scenario(
            title,
            registers={"a": 0x0011, "x": 0x04, "y": 0x02},
            flags=dict(_ENTRY),
            memory={_dp(test): bytes([value]), work.address: b"\x07"},
            expect_memory={work.address: bytes([counted])},
            properties=kept,
        )

    spec = BehaviourSpec(
        name,
        "jsr",
        (
            path(f"{h2(test)} = {h2(falls)}: no branch, {work.absolute} is counted", falls, 0x08),
            path(f"{h2(test)} = {h2(takes)}: {branch} {skip} is taken", takes, 0x07),
        ),
    )
    return Case(
        "stack_imbalance",
        d.pick(["stack imbalance on the early exit", "unbalanced push/pull", "early return skips the pulls"]),
        d.pick(
            [
                f"{name} crashes only when the early exit is taken.",
                f"The game jumps to a random address after {name} returns early.",
                f"Most frames {name} is fine; the frames where {h2(test)} triggers the branch, it crashes.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The early exit in {name} ({branch} {skip}) branches past {pulled}, so the stack is unbalanced: "
                f"RTS pops the bytes {pushed} left there as its return address.",
                f"{name} pushes with {pushed} on entry but only the fall-through path pulls them again. The {branch} "
                f"to {skip} leaves them on the stack, and that imbalance turns them into the return address.",
            ]
        ),
        (
            d.pick(
                [
                    f"{pushed} put {len(regs)} value(s) on the stack on entry.",
                    f"On entry the stack grows by what {pushed} saves.",
                ]
            ),
            d.pick(
                [
                    f"{branch} {skip} jumps over the {pulled} sequence.",
                    f"When the branch is taken, {pulled} never executes.",
                ]
            ),
            d.pick(
                [
                    "RTS pulls the saved registers as a return address and the CPU continues somewhere random.",
                    "The stack pointer is off by the pushed bytes, so RTS returns into garbage.",
                ]
            ),
        ),
        d.pick(
            [
                f"With {skip} before the pulls, both paths run {pulled} and every push is balanced by a pull before "
                "RTS.",
                "Moving the exit label above the pull sequence makes the early exit share the cleanup, so the "
                "stack is balanced on both paths.",
            ]
        ),
        observe="the stack pointer before RTS is lower than it was on entry.",
        culprit=f"{branch} {skip}",
        spec=spec,
    )


def push_wide_pull_narrow(d: Draw) -> Case:
    """PHA with a 16-bit accumulator, PLA after SEP #$20: one byte is left on the stack."""
    name = d.routine()
    var = d.free_ram(wide=True)
    out = d.scratch()
    value = d.int(0, 0x7F)
    head = [f"{name}:", "REP #$20", f"LDA {var.long}", "PHA", "SEP #$20", f"LDA #{h2(value)}", f"STA {h2(out)}"]
    buggy = d.asm([*head, "PLA", "RTS"])
    fixed = d.asm([*head, "REP #$20", "PLA", "SEP #$20", "RTS"])
    # The byte store lands either way; the return must find its address where the call left it.
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"{name} called with an 8-bit A",
                flags=dict(_ENTRY),
                memory={var.address: word(0x1234)},
                expect_memory={_dp(out): bytes([value])},
                properties=(*RETURNS, "widths_kept"),
            ),
        ),
    )
    return Case(
        "stack_imbalance",
        d.pick(["16-bit push, 8-bit pull", "PHA and PLA of different sizes", "stack mismatch across a size change"]),
        d.pick(
            [
                f"{name} returns to the wrong place and the game crashes.",
                f"Right after {name} the CPU ends up in the middle of nowhere.",
                f"Adding the {h2(out)} write to {name} broke the return.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"PHA in {name} runs with a 16-bit accumulator and pushes two bytes, but PLA runs after SEP #$20 and "
                "pulls only one: the stack is unbalanced by one byte, and RTS takes it as part of the return "
                "address.",
                "Push and pull sizes follow the M flag at the moment they execute. Here the PHA is 16-bit and the "
                "PLA 8-bit, a mismatch that leaves a byte on the stack under the return address.",
            ]
        ),
        (
            "After REP #$20, PHA pushes A as two bytes.",
            d.pick(
                [
                    "SEP #$20 makes A 8-bit before the PLA.",
                    "The 8-bit work in the middle switches the accumulator to 8-bit.",
                ]
            ),
            d.pick(
                [
                    "PLA pulls one byte; the other stays on the stack, so RTS pops a wrong address.",
                    "RTS takes the leftover byte as the low byte of its return address.",
                ]
            ),
        ),
        d.pick(
            [
                "REP #$20 before PLA pulls the same two bytes PHA pushed; SEP #$20 afterwards restores the 8-bit "
                "accumulator, so the stack is balanced at RTS.",
                "Pulling with the accumulator at the width it was pushed with balances the stack.",
            ]
        ),
        observe="S is one lower at RTS than it was on entry.",
        culprit="PLA",
        spec=spec,
    )


def helper_clobbers_counter(d: Draw) -> Case:
    """A loop counter in X or Y that the called helper reloads for its own indexing."""
    name, helper = d.routines(2)
    reg = d.index()
    push, pull = _PUSH_PULL[reg]
    count, ptr, dest = d.int(3, 12), d.scratch(even=True), d.low_ram()
    loop = d.loop_label()
    caller = [f"{name}:", f"LD{reg} #{h2(count)}", loop, f"JSR {helper}", f"DE{reg}", f"BNE {loop}", "RTS"]
    read = f"LDA ({h2(ptr)}),Y" if reg == "Y" else f"LDA {dest.absolute},X"
    helper_body = [f"LD{reg} #$00", read, f"STA {h2(d.scratch())}"]
    buggy = d.asm([*caller, f"{helper}:", *helper_body, "RTS"])
    fixed = d.asm([*caller, f"{helper}:", push, *helper_body, pull, "RTS"])
    # The loop must end after {count} passes with its counter at zero; a helper that resets the counter
    # keeps it going until the run's budget (room for far more passes than {count}) is spent.
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"{name} counts {count} passes with 8-bit X/Y",
                flags=dict(_ENTRY),
                memory={_dp(ptr): word(dest.address)},
                expect_registers={reg.lower(): 0},
                properties=(*RETURNS, "widths_kept"),
            ),
        ),
        max_instructions=40 * count + 40,
    )
    return Case(
        "register_clobber",
        d.pick([f"{reg} register clobbered by the helper", "caller's index overwritten", "callee does not save it"]),
        d.pick(
            [
                f"My loop in {name} runs forever after calling {helper}.",
                f"{name} only ever processes the first slot and then hangs.",
                f"Since I added the JSR {helper}, {name} never finishes.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{helper} overwrites {reg}, which {name} uses as its loop counter. The callee must preserve the "
                "registers its caller relies on (or the caller must save them), otherwise the clobber resets the "
                "count every pass.",
                f"{name} keeps its counter in {reg} across JSR {helper}, and {helper} clobbers {reg} with "
                f"LD{reg} #$00. Nothing is there to save or restore it, so the caller's DE{reg} starts from zero "
                "each time.",
            ]
        ),
        (
            f"{name} loads {reg} with the count {count} and calls {helper}.",
            d.pick(
                [
                    f"{helper} overwrites {reg} with LD{reg} #$00 for its own indexed read.",
                    f"Inside {helper}, LD{reg} #$00 destroys the caller's counter.",
                ]
            ),
            d.pick(
                [
                    f"Back in the loop, DE{reg} turns $00 into $FF, BNE is taken, and the count never reaches zero.",
                    f"DE{reg} starts from the overwritten value every time, so the loop never ends.",
                ]
            ),
        ),
        d.pick(
            [
                f"{push} and {pull} make the helper preserve {reg}, so the caller's counter survives the call.",
                f"Saving {reg} on entry to {helper} with {push} and restoring it with {pull} before RTS keeps the "
                "callee from clobbering the caller's state.",
            ]
        ),
        observe=f"{reg} is $00 every time {helper} returns.",
        culprit=f"LD{reg} #$00",
        caller=name,
        spec=spec,
    )


def helper_clobbers_argument(d: Draw) -> Case:
    """A value in A passed across a JSR whose callee loads A for its own check."""
    name, helper = d.routines(2)
    table, slot = d.sprite_table(), d.low_ram()
    kind = d.int(0x10, 0xF0)
    skip = d.exit_label()
    caller = [f"{name}:", f"LDA #{h2(kind)}", f"JSR {helper}", f"STA {table.absolute},X", "RTS"]
    body = [f"LDA {slot.absolute}", f"BNE {skip}", f"INC {slot.absolute}", skip]
    buggy = d.asm([*caller, f"{helper}:", *body, "RTS"])
    fixed = d.asm([*caller, f"{helper}:", "PHA", *body, "PLA", "RTS"])
    # The sprite in slot X must get {kind} whether the helper's slot byte was 0 (it counts it) or 1.
    x = next(i for i in (0x03, 0x05, 0x0A) if table.address + i != slot.address)

    def spawn(title: str, before: int, after: int) -> Scenario:
        return Scenario(
            title,
            registers={"x": x},
            flags=dict(_ENTRY),
            memory={slot.address: bytes([before]), table.address + x: b"\xff"},
            expect_memory={table.address + x: bytes([kind]), slot.address: bytes([after])},
            properties=(*RETURNS, "widths_kept", "x_kept"),
        )

    spec = BehaviourSpec(
        name,
        "jsr",
        (
            spawn(f"{slot.absolute} = $00, so {helper} counts it", 0, 1),
            spawn(f"{slot.absolute} = $01, so {helper} leaves it", 1, 1),
        ),
    )
    return Case(
        "register_clobber",
        d.pick(["accumulator clobbered by the callee", "A not preserved across JSR", "helper overwrites A"]),
        d.pick(
            [
                f"{name} should write {h2(kind)} into {table.what}, but a 0 or 1 ends up there.",
                f"The value stored after JSR {helper} is never the one I loaded.",
                f"Sprites spawned by {name} get the wrong type.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} loads A with {h2(kind)} and expects it to survive JSR {helper}, but {helper} overwrites A "
                f"with LDA {slot.absolute}. The callee does not preserve A, so the caller stores the clobbered value.",
                f"A is a register the callee uses freely: {helper} clobbers it with its own load and does not restore "
                f"it, so {name}'s STA writes {slot.what} instead of {h2(kind)}.",
            ]
        ),
        (
            f"A = {h2(kind)} when {name} calls {helper}.",
            d.pick(
                [
                    f"{helper} overwrites A with LDA {slot.absolute}.",
                    f"The first thing {helper} does is load {slot.absolute} into A.",
                ]
            ),
            d.pick(
                [
                    f"After RTS, STA {table.absolute},X stores that value, not {h2(kind)}.",
                    "The caller saves a value it never asked for.",
                ]
            ),
        ),
        d.pick(
            [
                f"PHA on entry and PLA before RTS preserve A, so {name} gets its value back.",
                "Saving and restoring A in the helper (PHA/PLA) keeps the caller's argument intact.",
            ]
        ),
        culprit=f"LDA {slot.absolute}",
        caller=name,
        spec=spec,
    )


def sep_truncates_index(d: Draw) -> Case:
    """A 16-bit offset in X, then SEP #$30 for byte work: the high byte of X is zeroed."""
    name = d.routine()
    offset = d.pick([0x0140, 0x0280, 0x0300, 0x0420, 0x0500, 0x0160])
    buf = 0x7F0000 + d.rng.randrange(0x5000, 0x7000, 0x100)
    flag = d.scratch()
    work = ["SEP #$30", f"LDA {h2(flag)}", "ORA #$80", f"STA {h2(flag)}"]
    tail = [f"LDA ${buf:06X},X", f"STA ${buf + 0x800:06X},X", "SEP #$30", "RTS"]
    buggy = d.asm([f"{name}:", "REP #$30", f"LDX #{h4(offset)}", *work, "REP #$30", *tail])
    fixed = d.asm([f"{name}:", "REP #$30", f"LDX #{h4(offset)}", "PHX", *work, "REP #$30", "PLX", *tail])
    # The word at offset {offset} is copied $800 up and the flag gets bit 7; the start of the buffer (where
    # an X cut to its low byte points) holds other data, which must stay where it is.
    here, there = buf + offset, buf + (offset & 0xFF)
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"the word at ${here:06X} is copied to ${here + 0x800:06X}",
                flags=dict(_ENTRY),
                memory={here: b"\x5c\x3a", there: b"\x11\x22", _dp(flag): b"\x01"},
                expect_memory={here + 0x800: b"\x5c\x3a", there + 0x800: b"\x00\x00", _dp(flag): b"\x81"},
                properties=(*RETURNS, "widths_kept"),
            ),
        ),
    )
    return Case(
        "register_corruption",
        d.pick(["X high byte lost to SEP #$30", "index register corrupted by a size switch", "SEP #$10 zeroes XH"]),
        d.pick(
            [
                f"{name} copies the wrong part of the buffer at ${buf:06X}.",
                f"The copy in {name} always reads from the start of the buffer, never from offset {h4(offset)}.",
                "Data from the first bytes of the buffer shows up where it should not.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"SEP #$30 sets the X flag, and switching the index registers to 8-bit clears their high bytes. "
                f"The {h4(offset)} in X is corrupted to {h4(offset & 0xFF)}, and REP #$30 does not restore the high "
                "byte, so the register no longer holds the offset.",
                f"The mode switch itself clobbers the index register: with the X flag set, XH is forced to zero, so "
                f"the offset is corrupted. {name} has to save X across the 8-bit section (PHX/PLX) and restore it.",
            ]
        ),
        (
            f"LDX #{h4(offset)} sets a 16-bit offset.",
            d.pick(
                [
                    "SEP #$30 makes X 8-bit, which zeroes its high byte.",
                    f"The 8-bit section leaves X = {h4(offset & 0xFF)}.",
                ]
            ),
            d.pick(
                [
                    f"After REP #$30 the long,X copy reads from ${buf + (offset & 0xFF):06X} instead.",
                    "The restored 16-bit X still has a zero high byte.",
                ]
            ),
        ),
        d.pick(
            [
                "PHX while X is still 16-bit saves both bytes; PLX after REP #$30 restores them at the same width, "
                "so the offset survives.",
                "Saving X before the size switch and restoring it after preserves the register's full value.",
            ]
        ),
        observe=f"X reads {h4(offset & 0xFF)} at the copy.",
        culprit="SEP #$30",
        spec=spec,
    )


def transfer_overwrites_index(d: Draw) -> Case:
    """TAX used as a quick temporary destroys the sprite slot index still needed afterwards."""
    name = d.routine()
    state, kind = d.sprite_table(), d.sprite_table()
    lookup = 0x7F0000 + d.rng.randrange(0x5000, 0x7000, 0x10)
    core = [f"LDA {kind.absolute},X"]
    buggy = d.asm([f"{name}:", *core, "TAX", f"LDA ${lookup:06X},X", f"STA {state.absolute},X", "RTS"])
    fixed = d.asm([f"{name}:", "PHX", *core, "TAX", f"LDA ${lookup:06X},X", "PLX", f"STA {state.absolute},X", "RTS"])
    # The looked-up value belongs in the slot being processed, and nowhere else; X comes back as that slot.

    def process(slot: int, sprite_type: int, value: int) -> Scenario:
        return Scenario(
            f"slot {h2(slot)} holds a sprite of type {h2(sprite_type)}",
            registers={"x": slot},
            flags=dict(_ENTRY),
            memory={kind.address + slot: bytes([sprite_type]), lookup + sprite_type: bytes([value])},
            expect_memory={state.address + slot: bytes([value])},
            may_write=(state.address + slot,),
            properties=(*RETURNS, "widths_kept", "x_kept"),
        )

    spec = BehaviourSpec(name, "jsr", (process(0x05, 0x0B, 0x44), process(0x0E, 0x03, 0x2C)))
    return Case(
        "register_corruption",
        d.pick(["sprite index overwritten by TAX", "X corrupted before the store", "slot index lost"]),
        d.pick(
            [
                f"{name} changes the state of some other sprite, not the one being processed.",
                "Random sprites freeze or vanish when this runs.",
                f"The value lands in {state.what} at the wrong slot.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"X holds the sprite slot on entry to {name}, and TAX overwrites it with the sprite type to index "
                f"the lookup at ${lookup:06X}. The final STA {state.absolute},X then uses the corrupted register "
                "and writes to another slot; the routine has to preserve the slot index around the lookup.",
                f"The register used as an index for the store is clobbered: TAX replaces the slot number with the "
                f"type. Save X first (PHX) and restore it (PLX) before STA {state.absolute},X.",
            ]
        ),
        (
            "X = the current sprite slot when the routine starts.",
            d.pick(["TAX replaces it with the sprite type.", "The lookup needs the type as index, so TAX runs."]),
            d.pick(
                [
                    f"STA {state.absolute},X writes at slot 'type', corrupting another sprite.",
                    "The write goes to whatever slot number equals the type.",
                ]
            ),
        ),
        d.pick(
            [
                "PHX saves the slot and PLX restores it after the lookup, so the store goes to the right sprite. "
                "PLX does not touch A, so the looked-up value is still there.",
                "With X preserved on the stack, the store uses the original slot index again.",
            ]
        ),
        culprit="TAX",
        spec=spec,
    )


def jsl_rts(d: Draw) -> Case:
    """A long call returning with RTS (or a short call returning with RTL)."""
    caller, name = d.caller(), d.routine()
    long_call = d.chance(0.5)
    call, good, bad = ("JSL", "RTL", "RTS") if long_call else ("JSR", "RTS", "RTL")
    var, dest = d.scratch(), d.low_ram()
    ret = "RTL" if d.chance(0.5) else "RTS"
    if entered_long(caller) is not None:  # a LongSub or a _Hook is reached with JSL, a ShortSub with JSR
        ret = "RTL" if entered_long(caller) else "RTS"
    outer = "JSL" if ret == "RTL" else "JSR"  # how the caller itself is reached: its own pair is right
    value = d.int(1, 0x7F)
    head = [f"{caller}:", f"{call} {name}", f"INC {h2(var)}", ret, f"{name}:", f"LDA #{h2(value)}"]
    head.append(f"STA {dest.absolute}")
    buggy = d.asm([*head, bad])
    fixed = d.asm([*head, good])
    pushed, pulled = ("3", "2") if long_call else ("2", "3")
    # The callee stores its value, the caller counts {var} and both return where they were called from. RTS
    # after JSL comes back to the INC (same bank) but leaves the bank byte under the caller's own return; RTL
    # after JSR takes a byte of the caller's return address as the bank and never reaches the INC.
    spec = BehaviourSpec(
        caller,
        outer.lower(),
        (
            Scenario(
                f"{caller}, reached with {outer}, calls {name} with {call}",
                flags=dict(_ENTRY),
                memory={_dp(var): b"\x41", dest.address: b"\x00"},
                expect_memory={_dp(var): b"\x42", dest.address: bytes([value])},
                properties=RETURNS,
            ),
        ),
    )
    if long_call:
        symptoms = [
            f"{name} returns to {caller} and {h2(var)} goes up, but the game crashes when {caller} returns.",
            f"{caller} finishes its work after calling {name}, then its own {ret} jumps into nowhere.",
            f"{name} itself runs fine, the crash comes after {caller} is done.",
        ]
        wrong = (
            "RTS takes only the 2-byte address, so the CPU does come back to the INC, but the bank byte JSL pushed "
            f"is still on the stack and {caller}'s own {ret} pops it as part of its return address."
        )
        last = [
            f"INC {h2(var)} still runs, then {caller}'s {ret} starts its return address with the leftover bank "
            "byte and the CPU resumes in the wrong code.",
            f"The stack is one byte deep when {caller} returns, so its {ret} goes to a garbage address.",
        ]
    else:
        symptoms = [
            f"The game crashes right after {name} returns to {caller}.",
            f"{caller} never continues after calling {name}: {h2(var)} is never incremented.",
            f"{name} itself runs fine, the crash comes on its return.",
        ]
        wrong = (
            "RTL pops a third byte, taken from the return address of whoever called "
            f"{caller}, as the program bank: the return goes to the wrong bank and the stack is off."
        )
        last = [
            "The return address is built from the wrong bytes and the CPU resumes in the wrong code.",
            "The stack is misaligned and execution continues at a garbage address.",
        ]
    return Case(
        "subroutine_call",
        d.pick([f"{call} paired with {bad}", f"subroutine returning with {bad}", "call/return mismatch"]),
        d.pick(symptoms),
        buggy,
        fixed,
        d.pick(
            [
                f"{caller} calls {name} with {call}, which pushes a {pushed}-byte return address, but the routine "
                f"returns with {bad}, which pops {pulled}. {wrong}",
                f"{call} and {bad} do not match: a subroutine entered with {call} must return with {good}. {bad} "
                f"pulls {pulled} bytes where {pushed} were pushed. {wrong}",
            ]
        ),
        (
            d.pick(
                [
                    f"{call} pushes {'the program bank and ' if long_call else ''}the return address: {pushed} bytes.",
                    f"The call leaves {pushed} bytes on the stack.",
                ]
            ),
            f"{bad} pulls {pulled} bytes{' and stays in the current bank' if long_call else ' including a bank byte'}.",
            d.pick(last),
        ),
        d.pick(
            [
                f"{good} pulls exactly the {pushed} bytes {call} pushed, so the return lands right after the call.",
                f"Returning with {good} matches the {call}, so {caller} resumes at INC {h2(var)}.",
            ]
        )
        + f" {caller}'s own {ret} stays: it matches the {outer} that reaches {caller}.",
        culprit=bad,
        caller=caller,
        spec=spec,
    )


def jsr_cross_bank(d: Draw) -> Case:
    """JSR to a routine meant to be reached from another bank: it must be JSL/RTL."""
    caller, name = d.caller(), d.routine()
    var = d.save_ram(wide=False)
    hook = 0x008000 | (d.int(0x10, 0x3F) << 16) | d.rng.randrange(0x8000, 0xFFF0, 4)
    ret = "RTL" if entered_long(caller) else "RTS"  # the caller's own return, as its name says it is reached
    body = [f"{name}:", f"LDA {var.long}", "ORA #$01", f"STA {var.long}", "RTL"]
    buggy = d.asm([f"{caller}:", f"JSR {name}", ret, *body])
    fixed = d.asm([f"{caller}:", f"JSL {name}", ret, *body])
    # The flag bit lands either way; the RTL must come back to the caller, whose own return then lands too.
    # After JSR, RTL takes a byte of the caller's return address as the bank and leaves the caller's frame.
    spec = BehaviourSpec(
        caller,
        "jsl" if ret == "RTL" else "jsr",
        (
            Scenario(
                f"{caller} calls {name}, {var.what} = $04",
                flags=dict(_ENTRY),
                memory={var.address: b"\x04"},
                expect_memory={var.address: b"\x05"},
                properties=RETURNS,
            ),
        ),
    )
    return Case(
        "subroutine_call",
        d.pick(["JSR into a routine that ends with RTL", "short call to a long routine", "JSR/RTL mismatch"]),
        d.pick(
            [
                f"I moved {caller} and {name} into free space at ${hook:06X} and now the game crashes after {name} "
                "returns.",
                f"{caller} crashes as soon as {name} hits its RTL.",
                f"The flag at {var.long} is set, then the CPU jumps off into another bank.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} returns with RTL, which pulls a 3-byte return address, but {caller} enters the subroutine "
                "with JSR, which pushes only 2. RTL takes an extra byte off the stack as the bank and returns "
                "into the wrong bank.",
                "The routine is written as a long subroutine (RTL) but called with JSR. A JSL is what pushes the "
                "program bank that RTL expects; with JSR the return takes one byte too many from the stack.",
            ]
        ),
        (
            "JSR pushes the 16-bit return address: 2 bytes.",
            "RTL pulls 3 bytes: the address plus a program bank.",
            d.pick(
                [
                    f"The extra byte comes from {caller}'s own stack frame, so the return goes to a random bank.",
                    "The stack loses one byte of the caller's state and PC lands in another bank.",
                ]
            ),
        ),
        d.pick(
            [
                f"JSL pushes the bank too, so {name}'s RTL returns to {caller} and the routine can live in any bank.",
                "A long call matches the RTL: 3 bytes in, 3 bytes out.",
            ]
        ),
        culprit=f"JSR {name}",
        caller=caller,
        spec=spec,
    )


def nmi_without_saving(d: Draw) -> Case:
    """An NMI handler that switches sizes and uses X/Y without saving them."""
    name = d.routine()
    src = 0x7F0000 + d.rng.randrange(0x5000, 0x7000, 0x100)
    count = d.pick([0x1E, 0x3E, 0x7E])
    loop = d.loop_label()
    work = [
        "REP #$30",
        f"LDX #{h4(count)}",
        loop,
        f"LDA ${src:06X},X",
        f"STA ${src + 0x1000:06X},X",
        "DEX",
        "DEX",
        f"BPL {loop}",
        "SEP #$30",
        "LDA $4210",
    ]
    buggy = d.asm([f"{name}:", "PHA", *work, "PLA", "RTI"])
    fixed = d.asm([f"{name}:", "REP #$30", "PHA", "PHX", "PHY", *work, "REP #$30", "PLY", "PLX", "PLA", "RTI"])
    # The NMI cuts into main-loop code (8-bit, as ALttP's mostly is, or 16-bit): when RTI has come back, the
    # interrupted code must find A (all 16 bits), X, Y, its widths and its stack exactly as they were.
    interrupted = f"{name}_Interrupted"

    def arrives(title: str, a: int, x: int, y: int, m8: bool, x8: bool) -> Scenario:
        return Scenario(
            title,
            registers={"a": a, "x": x, "y": y},
            flags={"m8": m8, "x8": x8, "c": True},
            expect_memory={_MARKER: word(a)},
            properties=(*RETURNS, "widths_kept", "x_kept", "y_kept", "db_kept"),
        )

    spec = BehaviourSpec(
        interrupted,
        "jsr",
        (
            arrives("the NMI arrives in 8-bit code", 0x1234, 0x05, 0x0C, m8=True, x8=True),
            arrives("the NMI arrives in 16-bit code", 0x2468, 0x0140, 0x0022, m8=False, x8=False),
        ),
        stubs={interrupted: _interrupted(name)},
    )
    return Case(
        "interrupt_handling",
        d.pick(
            ["NMI handler does not preserve registers", "interrupt clobbers X and A", "half-saved registers in NMI"]
        ),
        d.pick(
            [
                "Random crashes everywhere since I added my NMI hook; which routine it breaks changes each time.",
                f"Since {name} is in the NMI, loops in the main code sometimes run with garbage indexes.",
                "The game crashes at random moments, more often in busy rooms.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The NMI can interrupt any instruction, so {name} must preserve every register it touches. It saves "
                "only A, and only at the width A happens to have, then uses X and 16-bit A: when RTI returns, the "
                "interrupted code finds X clobbered and possibly the high byte of A too.",
                f"{name} is an interrupt handler that pushes just A with PHA and does not save X before LDX "
                "overwrites it. The "
                "code it interrupted never expected X to change, so it continues with a corrupted index; A's high "
                "byte is lost too when the NMI arrives in 8-bit mode.",
            ]
        ),
        (
            d.pick(
                [
                    "The NMI arrives between two instructions of the main loop, with whatever sizes it had.",
                    "The interrupt pushes only PB, PC and P; saving registers is the handler's job.",
                ]
            ),
            d.pick(
                [
                    "PHA saves one or two bytes depending on the interrupted code's M flag; X and Y are not saved.",
                    "LDX and the copy loop overwrite X, and PLA runs after SEP #$30, so it can pull fewer bytes than "
                    "PHA pushed.",
                ]
            ),
            d.pick(
                [
                    "RTI restores P and PC, but X keeps the handler's value, and so does the high byte of A.",
                    "The main code resumes with a register it had set to something else.",
                ]
            ),
        ),
        d.pick(
            [
                "REP #$30 first makes PHA/PHX/PHY push full 16-bit registers whatever mode the main code was in; "
                "pulling them in reverse at the same width, then RTI (which restores P), returns everything intact.",
                "Saving A, X and Y at 16 bits on entry and restoring them before RTI makes the interrupt invisible "
                "to the code it interrupted.",
            ]
        ),
        culprit="PHA",
        spec=spec,
    )


def irq_returns_rts(d: Draw) -> Case:
    """An IRQ/NMI handler that ends with RTS instead of RTI."""
    name = d.routine()
    scroll = d.free_ram(wide=False)
    reg = d.pick(["$210D", "$210E", "$210F", "$2110"])
    irq = d.chance(0.5)
    head = [f"{name}:", "PHA", "LDA $4211" if irq else "LDA $4210", f"LDA {scroll.long}", f"STA {reg}", "STZ " + reg]
    buggy = d.asm([*head, "PLA", "RTS"])
    fixed = d.asm([*head, "PLA", "RTI"])
    kind = "IRQ" if irq else "NMI"
    # The interrupt cuts into 8-bit main-loop code with the carry set: after the handler the interrupted code
    # must continue where it was, with its flags, registers and stack as they were, and the scroll written.
    interrupted = f"{name}_Interrupted"
    spec = BehaviourSpec(
        interrupted,
        "jsr",
        (
            Scenario(
                f"the {kind} arrives in 8-bit main-loop code",
                registers={"a": 0x0107, "x": 0x03, "y": 0x09},
                flags={**_ENTRY, "c": True},
                memory={scroll.address: b"\x40"},
                expect_memory={_MARKER: word(0x0107)},
                expect_io={int(reg[1:], 16): 0x00},
                expect_registers={"c": 1},
                properties=(*RETURNS, "widths_kept", "x_kept", "y_kept"),
            ),
        ),
        stubs={interrupted: _interrupted(name)},
    )
    return Case(
        "interrupt_handling",
        d.pick([f"{kind} handler returns with RTS", "RTS instead of RTI", "interrupt return pulls too little"]),
        d.pick(
            [
                f"The {kind} fires once and then the game crashes.",
                f"My split-screen {kind} works for one frame, then everything freezes.",
                "After the first interrupt the CPU runs off into nowhere.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} is an {kind} handler but returns with RTS. An interrupt pushes the program bank, the return "
                "address and the status register P; RTS pulls only two bytes, so it takes P and half the address "
                "as its return address and does not restore the interrupted code's flags.",
                f"Interrupt handlers must return with RTI, which pulls P, PC and the program bank the {kind} "
                "pushed. RTS does not restore P: the stack keeps the leftover bytes and the CPU returns to an "
                "address built from "
                "the saved status.",
            ]
        ),
        (
            f"The {kind} pushes PB, PC and P (4 bytes in native mode) and jumps to the handler.",
            "PHA/PLA balance each other inside the handler.",
            d.pick(
                [
                    "RTS pulls 2 bytes: P and the low byte of PC become the return address.",
                    "RTS leaves two of the four pushed bytes on the stack and returns to the wrong place.",
                ]
            ),
        ),
        d.pick(
            [
                "RTI pulls P and the full return address, so the interrupted code resumes exactly where it was with "
                "its flags restored.",
                "Returning with RTI balances what the interrupt pushed.",
            ]
        ),
        culprit="RTS",
        spec=spec,
    )


# Where this family's templates stand in the generator's list: proposals depend on the order (seeded draws).
FAMILY_ORDER = 20
TEMPLATES = (
    early_exit_skips_pulls,
    push_wide_pull_narrow,
    helper_clobbers_counter,
    helper_clobbers_argument,
    sep_truncates_index,
    transfer_overwrites_index,
    jsl_rts,
    jsr_cross_bank,
    nmi_without_saving,
    irq_returns_rts,
)

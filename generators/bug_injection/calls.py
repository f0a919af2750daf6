"""Calls and the stack: pushes without pulls, registers a callee destroys, mismatched call/return pairs
and interrupt handlers that do not put the CPU back as they found it."""

from __future__ import annotations

from generators.bug_injection.case import Case
from generators.draw import Draw, h2, h4

_PUSH_PULL = {"A": ("PHA", "PLA"), "X": ("PHX", "PLX"), "Y": ("PHY", "PLY"), "P": ("PHP", "PLP"), "B": ("PHB", "PLB")}


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
    )


def transfer_overwrites_index(d: Draw) -> Case:
    """TAX used as a quick temporary destroys the sprite slot index still needed afterwards."""
    name = d.routine()
    state, kind = d.sprite_table(), d.sprite_table()
    lookup = 0x7F0000 + d.rng.randrange(0x5000, 0x7000, 0x10)
    core = [f"LDA {kind.absolute},X"]
    buggy = d.asm([f"{name}:", *core, "TAX", f"LDA ${lookup:06X},X", f"STA {state.absolute},X", "RTS"])
    fixed = d.asm([f"{name}:", "PHX", *core, "TAX", f"LDA ${lookup:06X},X", "PLX", f"STA {state.absolute},X", "RTS"])
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
    )


def jsl_rts(d: Draw) -> Case:
    """A long call returning with RTS (or a short call returning with RTL)."""
    caller, name = d.caller(), d.routine()
    long_call = d.chance(0.5)
    call, good, bad = ("JSL", "RTL", "RTS") if long_call else ("JSR", "RTS", "RTL")
    var, dest = d.scratch(), d.low_ram()
    ret = "RTL" if d.chance(0.5) else "RTS"
    head = [f"{caller}:", f"{call} {name}", f"INC {h2(var)}", ret, f"{name}:", f"LDA #{h2(d.int(1, 0x7F))}"]
    head.append(f"STA {dest.absolute}")
    buggy = d.asm([*head, bad])
    fixed = d.asm([*head, good])
    pushed, pulled = ("3", "2") if long_call else ("2", "3")
    return Case(
        "subroutine_call",
        d.pick([f"{call} paired with {bad}", f"subroutine returning with {bad}", "call/return mismatch"]),
        d.pick(
            [
                f"The game crashes right after {name} returns to {caller}.",
                f"{caller} never continues after calling {name}.",
                f"{name} itself runs fine, the crash comes after the return.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{caller} calls {name} with {call}, which pushes a {pushed}-byte return address, but the routine "
                f"returns with {bad}, which pops {pulled}. The return goes to the wrong place and the stack is off.",
                f"{call} and {bad} do not match: a subroutine entered with {call} must return with {good}. {bad} "
                f"pulls {pulled} bytes where {pushed} were pushed, so the return address is wrong.",
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
            d.pick(
                [
                    "The return address is built from the wrong bytes and the CPU resumes in the wrong code.",
                    "The stack is misaligned and execution continues at a garbage address.",
                ]
            ),
        ),
        d.pick(
            [
                f"{good} pulls exactly the {pushed} bytes {call} pushed, so the return lands right after the call.",
                f"Returning with {good} matches the {call}, so {caller} resumes at INC {h2(var)}.",
            ]
        ),
        culprit=bad,
        caller=caller,
    )


def jsr_cross_bank(d: Draw) -> Case:
    """JSR to a routine meant to be reached from another bank: it must be JSL/RTL."""
    caller, name = d.caller(), d.routine()
    var = d.save_ram(wide=False)
    hook = 0x008000 | (d.int(0x10, 0x3F) << 16) | d.rng.randrange(0x8000, 0xFFF0, 4)
    body = [f"{name}:", f"LDA {var.long}", "ORA #$01", f"STA {var.long}", "RTL"]
    buggy = d.asm([f"{caller}:", f"JSR {name}", "RTS", *body])
    fixed = d.asm([f"{caller}:", f"JSL {name}", "RTS", *body])
    return Case(
        "subroutine_call",
        d.pick(["JSR into a routine that ends with RTL", "short call to a long routine", "JSR/RTL mismatch"]),
        d.pick(
            [
                f"I moved {name} into free space at ${hook:06X} and now the game crashes after it returns.",
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
    return Case(
        "interrupt_handling",
        d.pick(
            ["NMI handler does not preserve registers", "interrupt clobbers X and Y", "half-saved registers in NMI"]
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
                    "The interrupt pushes only PC and P; saving registers is the handler's job.",
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
                    "RTI restores P and PC, but X and Y keep the handler's values.",
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
    )


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

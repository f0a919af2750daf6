"""Width bugs: the M/X flags (REP/SEP) disagree with how the code was assembled or what it stores,
and processor-status flags that leak out of a routine."""

from __future__ import annotations

from curation.asm.behaviour import BehaviourSpec, Scenario
from curation.asm.cpu import word
from curation.asm.opcodes import OPCODES, RELATIVE_8, disassemble
from generators.bug_injection.calls import entered_long
from generators.bug_injection.case import Case
from generators.draw import Draw, h2, h4

_ENTRY = {"m8": True, "x8": True}  # ALttP's usual 8-bit A and X/Y on the way in
# What every routine here owes its caller, whatever the bug: it comes back, with the stack as it was.
RETURNS = ("returns", "stack_balanced")
_MARKER = 0x7E1F80  # a WRAM word no template draws: a harness caller records what it saw there


def _dp(address: int) -> int:
    """The WRAM byte a direct-page address reaches with D = 0."""
    return 0x7E0000 | address


def _stray(operand: int, acc: int, routine: str) -> tuple[str, str, bool]:
    """What the CPU makes of ``STA dp`` / ``RTS`` once a 16-bit ``LDA #imm`` has taken the STA opcode (``acc``
    is the A it loaded): the STA's operand byte runs as an opcode (decoded with A 16-bit, X/Y 8-bit), followed
    by the RTS byte $60. Returns the instruction it becomes, what happens next, and whether the routine still
    gets back to its caller (only where that byte is one-byte and pushes nothing: ASL A)."""
    info = OPCODES[operand]
    length = info.length(False, True)
    if length == 1:  # the RTS byte after it still runs as RTS
        text, _ = disassemble(bytes([operand]), 0, False, True)
        back = info.mnemonic not in ("PHP", "PHD")
        if info.mnemonic == "PHP":
            then = (
                "PHP pushes P, and the RTS after it pulls that byte and the low byte of the real return address as "
                f"its return address: {routine} returns to the wrong place with the stack one byte off"
            )
        elif info.mnemonic == "PHD":
            then = (
                "PHD pushes D ($0000), and the RTS after it pulls that as its return address: the CPU goes to $0001 "
                "and the real return address stays on the stack"
            )
        else:
            became = f"A becomes ${(acc << 1) & 0xFFFF:04X} and " if text == "ASL A" else ""
            then = (
                f"{became}the RTS after it does execute, so {routine} returns, but with A still 16-bit, and the "
                "caller's next 8-bit immediate is misdecoded in turn"
            )
        return text, then, back
    if length > 2:
        past = length - 2
        then = (
            f"its operand is the RTS byte $60 and the {'byte' if past == 1 else f'{past} bytes'} after {routine}, "
            "so no RTS runs and the CPU goes on out of step"
        )
        return f"a {length}-byte {info.mnemonic}", then, False
    if info.mode == RELATIVE_8:
        # BPL ($10) is the one branch a scratch byte + 1 can be: LDA #$85vv left N set, so it falls through.
        how = f" (LDA #${acc:04X} set N, so it is not taken)" if info.mnemonic == "BPL" else ""
        then = f"the RTS byte is its offset{how}, so no RTS runs and the CPU goes on into whatever follows {routine}"
        return f"{info.mnemonic} with offset $60", then, False
    text = disassemble(bytes([operand, 0x60]), 0, False, True)[0].replace(".b ", " ")
    if info.mnemonic == "COP":
        return text, "the RTS byte is its operand, so no RTS runs: COP jumps through the COP vector", False
    then = f"the RTS byte is its operand, so no RTS runs and the CPU goes on into whatever follows {routine}"
    return text, then, False


def mode_returns_wide(d: Draw) -> Case:
    """A routine widens A with REP #$20 and returns wide; the caller's 8-bit immediates misdecode."""
    caller, routine = d.caller(), d.routine()
    var, dest = d.free_ram(wide=True), d.scratch()
    imm, add = d.int(1, 0x7F), d.pick([0x0008, 0x0010, 0x0020, 0x0040, 0x0100, 0x0200])
    php = d.chance(0.5)
    back = "RTL" if entered_long(caller) else "RTS"  # the caller returns the way its name says it is reached
    head = [f"{caller}:", f"JSR {routine}", f"LDA #{h2(imm)}", f"STA {h2(dest)}", back]
    core = ["REP #$20", f"LDA {var.long}", "CLC", f"ADC #{h4(add)}", f"STA {var.long}"]
    buggy = d.asm([*head, f"{routine}:", *core, "RTS"])
    if php:
        fixed = d.asm([*head, f"{routine}:", "PHP", *core, "PLP", "RTS"])
        why = d.pick(
            [
                f"PHP saves the caller's status byte on entry and PLP restores it before RTS, so {caller} gets "
                "back exactly the register sizes it had, whatever they were.",
                f"With PHP/PLP around the body, {routine} can switch sizes freely: the caller's M flag comes back "
                "with the status byte before RTS.",
            ]
        )
    else:
        fixed = d.asm([*head, f"{routine}:", *core, "SEP #$20", "RTS"])
        why = d.pick(
            [
                f"SEP #$20 puts A back to 8-bit before RTS, so {caller}'s width matches how its code was assembled.",
                f"Setting the M flag again with SEP #$20 hands {caller} the 8-bit accumulator its immediates expect.",
            ]
        )
    # The caller runs 8-bit: the routine adds to its word once, and the caller's own store lands with the
    # width it was assembled for. With A left 16-bit, LDA swallows the STA opcode and the store never happens.
    start = 0x0140 + imm
    spec = BehaviourSpec(
        caller,
        "jsl" if back == "RTL" else "jsr",
        (
            Scenario(
                f"{caller} runs with an 8-bit A and calls {routine}",
                flags=dict(_ENTRY),
                memory={var.address: word(start), _dp(dest): b"\x00"},
                expect_memory={var.address: word(start + add), _dp(dest): bytes([imm])},
                properties=(*RETURNS, "widths_kept"),
            ),
        ),
    )
    return Case(
        "mode_mismatch",
        d.pick(["16-bit/8-bit mode mismatch", "accumulator size mismatch", "routine returns in 16-bit mode"]),
        d.pick(
            [
                f"After {routine} returns, {caller} crashes on the very next instruction.",
                f"{routine} works, but the code after the JSR runs garbage and the game locks up.",
                f"Whenever {caller} calls {routine}, {h2(dest)} never gets the value {caller} stores and then the "
                "game crashes.",
                f"Stepping in {d.emulator()}, the disassembly after JSR {routine} suddenly makes no sense.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{routine} switches the accumulator to 16-bit mode with REP #$20 and returns without SEP #$20, so "
                f"{caller} keeps running with the wrong accumulator size: its LDA #{h2(imm)} was assembled for an "
                "8-bit A and the CPU now reads one byte too many.",
                f"This is a mode mismatch between {routine} and {caller}. REP #$20 clears the M flag, nothing sets it "
                f"again before RTS, and {caller} carries on with a 16-bit accumulator although its immediates are "
                "8-bit: the width the CPU uses and the width Asar assembled for disagree.",
                f"The accumulator width leaks out of {routine}: it is in 16-bit mode after REP #$20 and still 16-bit "
                "when "
                f"{caller} executes LDA #{h2(imm)}, an 8-bit immediate, so the operand size is wrong and the "
                "instruction stream goes out of step.",
            ]
        ),
        (
            d.pick(
                [
                    "REP #$20 clears the M flag, so A is 16-bit inside the routine.",
                    f"Inside {routine}, REP #$20 makes the accumulator 16 bits wide for the {h4(add)} addition.",
                ]
            ),
            d.pick(
                [
                    "RTS returns with M still clear; nothing restores the caller's 8-bit mode.",
                    "RTS does not touch the status register, so the 16-bit size survives the return.",
                ]
            ),
            d.pick(
                [
                    f"LDA #{h2(imm)} is two bytes (opcode, operand), but a 16-bit A fetches two operand bytes and "
                    "takes "
                    "the following opcode as the high byte.",
                    f"The CPU decodes LDA #{h2(imm)} with a 16-bit operand, swallowing the STA opcode; what follows "
                    "executes from the middle of an instruction.",
                ]
            ),
        ),
        why,
        observe=d.pick(
            [
                f"after RTS the status register shows m=0 (16-bit) while {caller} expects m=1.",
                f"the trace shows LDA #{h2(imm)} consuming three bytes instead of two.",
            ]
        ),
        culprit="RTS",
        caller=caller,
        spec=spec,
    )


def mode_rep30(d: Draw) -> Case:
    """REP #$30 widens X and Y too; a following 8-bit LDX/LDY immediate is decoded with a 16-bit operand."""
    routine = d.routine()
    table = d.sprite_table()
    reg = d.index()
    count = d.int(0x04, 0x0F)
    var = d.free_ram(wide=True)
    dest = d.low_ram()
    loop = d.loop_label()

    def body(mask: str) -> list[str]:
        return [
            f"{routine}:",
            f"REP #{mask}",
            f"LDA {var.long}",
            "CLC",
            f"ADC #{h4(d_add)}",
            f"STA {var.long}",
            f"LD{reg} #{h2(count)}",
            loop,
            f"LDA {table.absolute},{reg}",
            f"STA {dest.absolute},{reg}",
            f"DE{reg}",
            f"BPL {loop}",
            f"SEP #{mask}",
            "RTS",
        ]

    d_add = d.int(1, 0x40)
    while abs(dest.address - table.address) <= count + 2:  # a copy onto its own source would show nothing
        dest = d.low_ram()
    buggy, fixed = d.asm(body("$30")), d.asm(body("$20"))
    # The word add lands, then the 8-bit counted loop copies the table's first count+2 bytes (a word per
    # step, one byte apart); with X/Y 16-bit the LD immediate swallows an opcode and the copy never runs.
    data = bytes(0x21 + 3 * i for i in range(count + 2))
    spec = BehaviourSpec(
        routine,
        "jsr",
        (
            Scenario(
                f"{routine} called with 8-bit A and X/Y",
                flags=dict(_ENTRY),
                memory={var.address: word(0x0100), table.address: data},
                expect_memory={var.address: word(0x0100 + d_add), dest.address: data},
                properties=(*RETURNS, "widths_kept"),
            ),
        ),
    )
    return Case(
        "mode_mismatch",
        d.pick(["REP #$30 widens the index registers too", "index register size mismatch", "wrong REP mask"]),
        d.pick(
            [
                f"{routine} updates {var.long} correctly and then the game crashes.",
                f"The 16-bit add in {routine} works, but right after it the CPU jumps into nowhere.",
                f"As soon as {routine} runs, {d.emulator()} shows the CPU executing garbage after the LD{reg}.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"REP #$30 clears both the M and the X flag, so besides the 16-bit accumulator {routine} also gets "
                f"16-bit index registers. LD{reg} #{h2(count)} was assembled as an 8-bit immediate, so in 16-bit "
                "index mode the CPU reads one extra byte: the size of the operand no longer matches the code.",
                f"The mode switch is too wide: REP #$30 makes A, X and Y 16-bit, while only A was meant to be. "
                f"The LD{reg} #{h2(count)} after it is an 8-bit immediate, and with a 16-bit {reg} its width is wrong, "
                "so the CPU eats the next opcode as the high byte.",
            ]
        ),
        (
            d.pick(
                [
                    "REP #$30 clears bit 5 (M) and bit 4 (X) of the status register.",
                    "The $30 mask covers both size flags: M for the accumulator, X for the index registers.",
                ]
            ),
            d.pick(
                [
                    f"LD{reg} #{h2(count)} is encoded with a one-byte operand, but {reg} is now 16-bit and fetches "
                    "two.",
                    f"With the X flag clear, LD{reg} immediate takes a two-byte operand; Asar emitted one.",
                ]
            ),
            d.pick(
                [
                    "The opcode of the next instruction becomes the high byte of the count and decoding goes astray.",
                    "Every instruction after that is read from the wrong offset, so the loop never runs as written.",
                ]
            ),
        ),
        d.pick(
            [
                "REP #$20 and SEP #$20 touch only the M flag, so the index registers stay 8-bit and the 8-bit "
                f"LD{reg} immediate is decoded as assembled.",
                "Using $20 instead of $30 widens just the accumulator; X and Y keep the 8-bit size the loop was "
                "written for.",
            ]
        ),
        observe=f"the status register shows x=0 when LD{reg} #{h2(count)} executes.",
        culprit="REP #$30",
        spec=spec,
    )


def missing_sep_store(d: Draw) -> Case:
    """A 16-bit read, then 8-bit code without SEP #$20: the 8-bit LDA swallows the STA opcode, so the store
    never runs and its operand byte executes as an instruction (``A9 vv 85 03 60`` is ``LDA #$85vv`` then
    ``ORA $60,S``)."""
    name = d.routine()
    flag = d.save_ram(wide=False)
    dest = d.scratch()
    value = d.int(1, 0x7F)
    lo = [f"{name}:", "REP #$20", f"LDA {flag.long}", "AND #$00FF", f"STA {h2(dest)}"]
    hi = [f"LDA #{h2(value)}", f"STA {h2(dest + 1)}", "RTS"]
    buggy = d.asm([*lo, *hi])
    fixed = d.asm([*lo, "SEP #$20", *hi])
    acc = value | 0x8500  # what LDA loads with the STA opcode ($85) as its high byte
    swallowed = f"${acc:04X}"
    # The STA's operand byte (dest+1) is the next opcode, the RTS byte $60 after it: what they decode to.
    stray, then, returns = _stray(dest + 1, acc, name)
    # The word store puts the flag and a zero at dest/dest+1, then the 8-bit pair must put the value at dest+1
    # and return with the widths it was called with. Left 16-bit, LDA #value reads the STA opcode as its high
    # byte: the store never executes, so dest+1 keeps the zero the word store left there.
    level = 0x05
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"{name} called with an 8-bit A, {flag.what} = {h2(level)}: STA {h2(dest + 1)} stores {h2(value)}",
                flags=dict(_ENTRY),
                memory={flag.address: bytes([level, 0x3C]), _dp(dest): b"\xee\xee"},
                expect_memory={_dp(dest): bytes([level, value])},
                properties=(*RETURNS, "widths_kept"),
            ),
        ),
    )
    crash = f"the code after JSR {name} goes haywire" if returns else "right after it the game crashes"
    return Case(
        "missing_sep",
        d.pick(["missing SEP before 8-bit code", "accumulator left 16-bit", "no SEP #$20 after the 16-bit read"]),
        d.pick(
            [
                f"{name} never writes {h2(value)} to {h2(dest + 1)}, and {crash}.",
                f"After {name}, {h2(dest + 1)} is always $00 instead of {h2(value)}, then "
                f"{'the caller' if returns else 'the CPU'} runs off somewhere.",
                f"{h2(dest)} gets the right value, but the code after the LDA #{h2(value)} in {name} goes haywire.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The second half of {name} is written for an 8-bit accumulator, but no SEP #$20 switches back after "
                f"the 16-bit read of {flag.long}, so LDA #{h2(value)} is decoded with a 16-bit operand: it takes the "
                f"STA opcode ($85) as its high byte (A = {swallowed}), so STA {h2(dest + 1)} never executes. Its "
                f"operand byte {h2(dest + 1)} runs as an opcode instead, {stray}: {then}.",
                f"{name} reads {flag.what} with A in 16-bit mode and never returns to 8-bit: without SEP #$20 the "
                f"accumulator is still 16 bits wide when the 8-bit LDA #{h2(value)} runs, so the CPU reads two "
                f"operand bytes and swallows the STA that follows. {h2(dest + 1)} keeps the $00 of the word store, "
                f"and the rest of the routine runs out of step as {stray}: {then}.",
            ]
        ),
        (
            d.pick(
                [
                    "REP #$20 makes the accumulator 16-bit for the masked read.",
                    f"The AND #$00FF read of {flag.long} needs a 16-bit A, which REP #$20 provides.",
                ]
            ),
            d.pick(
                [
                    f"The code after it assumes 8-bit A, but the M flag is still clear; STA {h2(dest)} stores a word, "
                    f"so {h2(dest + 1)} gets $00.",
                    "Nothing sets the M flag again, so the accumulator stays 16-bit.",
                ]
            ),
            d.pick(
                [
                    f"LDA #{h2(value)} reads the STA opcode as its high byte and loads {swallowed}; the store of "
                    f"{h2(value)} into {h2(dest + 1)} never happens, and the operand byte {h2(dest + 1)} runs as "
                    f"{stray}.",
                    f"The 8-bit immediate is read with a 16-bit width, so the STA opcode is swallowed and the "
                    f"operand byte {h2(dest + 1)} executes as {stray}: {then}.",
                ]
            ),
        ),
        d.pick(
            [
                "SEP #$20 returns the accumulator to 8-bit, so LDA takes its one operand byte and the STA after it "
                "runs as written.",
                "With SEP #$20 between the halves, the 8-bit code runs with the 8-bit accumulator it was written for.",
            ]
        ),
        observe=f"the trace shows LDA #{swallowed} and then {stray}; no STA {h2(dest + 1)} executes.",
        culprit=f"LDA #{h2(value)}",
        spec=spec,
    )


def missing_sep_ppu(d: Draw) -> Case:
    """A 16-bit timer update, then an 8-bit store to INIDISP that also writes OBSEL ($2101)."""
    name = d.routine()
    timer, bright = d.free_ram(wide=True), d.free_ram()
    exit_label = d.exit_label()
    while abs(bright.address - timer.address) <= 1:  # the brightness byte must not be half of the timer
        bright = d.free_ram()
    core = [f"{name}:", "REP #$20", f"LDA {timer.long}", "DEC A", f"STA {timer.long}", f"BNE {exit_label}"]
    tail = [f"LDA {bright.long}", "STA $2100", exit_label, "SEP #$20", "RTS"]
    buggy = d.asm([*core, *tail])
    fixed = d.asm([*core[:-1], "SEP #$20", core[-1], *tail[:2], exit_label, "RTS"])
    # The frame the timer runs out, INIDISP gets the brightness and OBSEL ($2101) must stay untouched (the byte
    # after the brightness is not $00, as in RAM); on the other frames neither register is written.
    level, neighbour = 0x0F, 0x63
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                "the fade timer runs out this frame",
                flags=dict(_ENTRY),
                memory={timer.address: word(1), bright.address: bytes([level, neighbour])},
                expect_memory={timer.address: word(0)},
                expect_io={0x2100: level},
                io_unwritten=(0x2101,),
                properties=(*RETURNS, "widths_kept"),
            ),
            Scenario(
                "the fade timer is still running",
                flags=dict(_ENTRY),
                memory={timer.address: word(0x0105), bright.address: bytes([level, neighbour])},
                expect_memory={timer.address: word(0x0104)},
                io_unwritten=(0x2100, 0x2101),
                properties=(*RETURNS, "widths_kept"),
            ),
        ),
    )
    return Case(
        "missing_sep",
        d.pick(["16-bit store to an 8-bit PPU register", "missing SEP before STA $2100", "accumulator still 16-bit"]),
        d.pick(
            [
                "When the fade finishes, all my sprites turn into garbage tiles.",
                f"The brightness change from {name} works, but sprites use the wrong graphics afterwards.",
                "After the screen fades in, OAM tiles come from the wrong place in VRAM.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} counts its 16-bit timer with REP #$20 and then stores the brightness with the accumulator "
                "still 16-bit. Without SEP #$20, STA $2100 writes two bytes: INIDISP at $2100 and OBSEL at $2101, "
                "which picks the sprite size and tile base.",
                f"The accumulator is left in 16-bit mode for the brightness write in {name}: no SEP #$20 comes "
                "after the timer, so STA $2100 also stores the high byte of A into $2101 (OBSEL).",
            ]
        ),
        (
            f"REP #$20 widens A so the timer at {timer.long} can be decremented as a word.",
            d.pick(
                [
                    f"LDA {bright.long} then loads two bytes: the brightness and whatever byte follows it.",
                    f"With A still 16-bit, LDA {bright.long} reads the brightness plus its neighbour.",
                ]
            ),
            d.pick(
                [
                    "STA $2100 writes the low byte to INIDISP and the high byte to $2101, OBSEL.",
                    "The 16-bit store spills into $2101, changing the sprite size and name base.",
                ]
            ),
        ),
        d.pick(
            [
                "SEP #$20 before the brightness code makes A 8-bit, so STA $2100 writes INIDISP alone.",
                "Switching back to an 8-bit accumulator first means the store touches exactly one PPU register.",
            ]
        ),
        observe="the PPU viewer shows OBSEL ($2101) changing on the frame the fade ends.",
        culprit="STA $2100",
        spec=spec,
    )


def wide_add_8bit(d: Draw) -> Case:
    """A 16-bit counter (rupees) incremented with an 8-bit accumulator: the carry never reaches the high byte."""
    name = d.routine()
    counter = d.save_ram(wide=True) if d.chance(0.5) else d.free_ram(wide=True)
    amount = d.int(0x05, 0x64)
    buggy = d.asm(
        [f"{name}:", "SEP #$20", f"LDA {counter.long}", "CLC", f"ADC #{h2(amount)}", f"STA {counter.long}", "RTS"]
    )
    fixed = d.asm(
        [
            f"{name}:",
            "REP #$20",
            f"LDA {counter.long}",
            "CLC",
            f"ADC #{h4(amount)}",
            f"STA {counter.long}",
            "SEP #$20",
            "RTS",
        ]
    )
    # Below a carry out of the low byte both versions agree; across it the high byte must go up by one.
    low, high = 0x0310, 0x01FF - amount // 2

    def adding(title: str, start: int) -> Scenario:
        return Scenario(
            title,
            flags=dict(_ENTRY),
            memory={counter.address: word(start)},
            expect_memory={counter.address: word(start + amount)},
            properties=(*RETURNS, "widths_kept"),
        )

    spec = BehaviourSpec(
        name,
        "jsr",
        (
            adding(f"{h4(low)} + {amount}: no carry out of the low byte", low),
            adding(f"{h4(high)} + {amount}: the low byte wraps and carries into the high byte", high),
        ),
    )
    return Case(
        "16bit_operations",
        d.pick(
            [
                "16-bit counter updated with an 8-bit accumulator",
                "carry never reaches the high byte",
                "8-bit add on a word",
            ]
        ),
        d.pick(
            [
                f"The count at {counter.long} wraps back to a small number after 255.",
                f"{name} adds {amount} each time, but past 255 the value starts over.",
                f"The high byte at ${(counter.address + 1) & 0xFFFFFF:06X} never changes.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{counter.long} holds a 16-bit value, but {name} adds to it with an 8-bit accumulator (SEP #$20): "
                "only the low byte is loaded, added and stored, so the carry out of the low byte is lost instead "
                "of going into the high byte.",
                f"With SEP #$20 the accumulator is 8-bit, so ADC #{h2(amount)} works on the low byte alone. The word "
                f"at {counter.long} needs a 16-bit add, which propagates the carry into its high byte.",
            ]
        ),
        (
            d.pick(["SEP #$20 sets the M flag: A is 8 bits wide.", "The accumulator is 8-bit for the whole routine."]),
            d.pick(
                [
                    f"LDA/ADC/STA touch only the low byte of {counter.long}.",
                    "The add produces a carry when the low byte overflows, and nothing uses it.",
                ]
            ),
            d.pick(
                [
                    f"The high byte at ${(counter.address + 1) & 0xFFFFFF:06X} keeps its old value, so the word wraps.",
                    "The word loses 256 every time the low byte wraps.",
                ]
            ),
        ),
        d.pick(
            [
                f"REP #$20 with ADC #{h4(amount)} adds to both bytes in one go; SEP #$20 afterwards restores the "
                "8-bit accumulator.",
                "A 16-bit accumulator loads the whole word, so the carry from the low byte lands in the high byte.",
            ]
        ),
        culprit="SEP #$20",
        spec=spec,
    )


def mask_8bit_immediate(d: Draw) -> Case:
    """An immediate written with two digits in 16-bit code: Asar emits one byte, the CPU reads two."""
    name = d.routine()
    src = d.sprite_table() if d.chance(0.5) else d.low_ram(wide=True)
    dest = d.scratch(even=True)
    op, value, purpose = d.pick(
        [
            ("AND", 0xFF, "keep only the low byte"),
            ("AND", 0x7F, "clear the top bits"),
            ("AND", 0x0F, "keep the low nibble"),
            ("ORA", 0x80, "set bit 7"),
            ("EOR", 0x01, "flip bit 0"),
            ("CMP", d.int(0x10, 0xF0), "compare against a limit"),
        ]
    )
    tail = [f"STA {h2(dest)}"] if op != "CMP" else ["BCC +", f"STA {h2(dest)}", "+"]
    code = [f"{name}:", "REP #$20", f"LDA {src.absolute},X"]
    buggy = d.asm([*code, f"{op} #{h2(value)}", *tail, "SEP #$20", "RTS"])
    fixed = d.asm([*code, f"{op} #{h4(value)}", *tail, "SEP #$20", "RTS"])
    nxt = "STA" if op != "CMP" else "BCC"
    # The word at src,X goes through the operation into dest (for CMP: stored only at or above the limit).
    # Left one byte short, the immediate swallows the next opcode and the store never lands.
    slot, old = 0x04, b"\xa5\x5a"
    results = {"AND": lambda w: w & value, "ORA": lambda w: w | value, "EOR": lambda w: w ^ value}

    def run(title: str, source: int) -> Scenario:
        stored = word(results[op](source)) if op in results else word(source) if source >= value else old
        return Scenario(
            title,
            registers={"x": slot},
            flags=dict(_ENTRY),
            memory={src.address + slot: word(source), _dp(dest): old},
            expect_memory={_dp(dest): stored},
            properties=(*RETURNS, "widths_kept"),
        )

    scenarios = [run(f"slot {slot} holds $3C27", 0x3C27)]
    if op == "CMP":
        scenarios.append(run(f"slot {slot} holds $0005, below the limit {h4(value)}", 0x0005))
    spec = BehaviourSpec(name, "jsr", tuple(scenarios))
    return Case(
        "16bit_operations",
        d.pick(
            [
                "8-bit immediate in 16-bit mode",
                f"{op} #{h2(value)} with a 16-bit accumulator",
                "one-byte immediate in 16-bit code",
                "immediate width does not match the accumulator",
            ]
        ),
        d.pick(
            [
                f"I want to {purpose} of {src.absolute},X, but {h2(dest)} never gets the result and {name} goes "
                f"wrong right after the {op}.",
                f"The {op} in {name} breaks everything after it.",
                f"{name} should {purpose}; instead the CPU runs into garbage.",
                f"Stepping through {name}, everything after {op} #{h2(value)} decodes as nonsense.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"Asar sizes an immediate by how it is written, so {op} #{h2(value)} is assembled with a single "
                f"operand byte. {name} runs it with a 16-bit accumulator (REP #$20), which fetches a 16-bit operand: "
                f"the {nxt} opcode becomes the high byte of the operand.",
                f"In 16-bit mode the operand needs both bytes: {op} #{h2(value)} is a one-byte immediate, and with A "
                f"16-bit the CPU reads the next opcode as its high byte, so {name} falls out of step.",
                f"{name} widens A with REP #$20 and then writes {op} #{h2(value)}, an immediate Asar encodes as one "
                "byte. The accumulator width decides how many operand bytes the CPU fetches, so it takes two and "
                "the low byte/high byte split of the instruction stream is off by one.",
            ]
        ),
        (
            f"REP #$20 makes A 16-bit and LDA {src.absolute},X reads a word.",
            d.pick(
                [
                    f"{op} #{h2(value)} is emitted as two bytes (opcode, {h2(value)}); the CPU expects three.",
                    f"The CPU takes the byte after {h2(value)}, the {nxt} opcode, as the operand's high byte.",
                ]
            ),
            d.pick(
                [
                    f"The {nxt} opcode is swallowed and its operand byte runs as an opcode, so the store to "
                    f"{h2(dest)} never happens as written.",
                    f"Everything after the {op} decodes from the wrong offset.",
                ]
            ),
        ),
        d.pick(
            [
                f"{op} #{h4(value)} spells out a 16-bit immediate: the high byte is explicit, and the instruction has "
                "the length the 16-bit accumulator expects.",
                "Writing the immediate with four digits makes Asar emit a word, so the code matches the accumulator "
                "width.",
            ]
        ),
        observe=f"the trace shows {op} consuming the {nxt} opcode as operand.",
        culprit=f"{op} #{h2(value)}",
        spec=spec,
    )


def decimal_flag_leak(d: Draw) -> Case:
    """SED for a BCD score, returned without CLD/PLP: later ADCs run in decimal mode."""
    name, caller = d.routine(), d.caller()
    score = d.free_ram()
    add = d.int(1, 9)
    body = [f"LDA {score.long}", "CLC", f"ADC #{h2(add)}", f"STA {score.long}"]
    buggy = d.asm([f"{name}:", "SEP #$20", "SED", *body, "RTS"])
    fixed = d.asm([f"{name}:", "PHP", "SEP #$20", "SED", *body, "PLP", "RTS"])
    # The score adds in BCD either way; the caller's own binary add after the call ($09 + $01, recorded by
    # a stand-in for the caller) must give $0A, not the decimal $10.
    points = 0x25
    total = int(f"{int(f'{points:X}') + add}", 16)
    after = f"JSR {name}\nSEP #$20\nLDA #$09\nCLC\nADC #$01\nSTA.l ${_MARKER:06X}\nRTS"
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"the score {h2(points)} + {add} in BCD",
                flags=dict(_ENTRY),
                memory={score.address: bytes([points])},
                expect_memory={score.address: bytes([total])},
                properties=(*RETURNS, "widths_kept"),
            ),
            Scenario(
                f"{caller} adds $09 + $01 after calling {name}",
                entry=caller,
                flags=dict(_ENTRY),
                memory={score.address: bytes([points])},
                expect_memory={_MARKER: b"\x0a"},
                properties=(*RETURNS, "widths_kept"),
            ),
        ),
        stubs={caller: after},
    )
    return Case(
        "flag_state",
        d.pick(["decimal flag left set", "SED leaks out of the routine", "processor status not restored"]),
        d.pick(
            [
                f"My BCD score in {name} is fine, but afterwards other additions in {caller} give weird results.",
                "After the score updates, Link's coordinates jump and damage numbers are off.",
                f"Every ADC after {name} returns numbers like $10 instead of $0A.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} sets the decimal flag with SED for the BCD score and returns with it still set. The D flag "
                "is part of the processor status (P register), so every ADC and SBC the caller runs afterwards works "
                "in decimal mode.",
                f"The D bit of the status register stays set after {name}: SED switches ADC/SBC to BCD and nothing "
                "clears the flag (no CLD, no PLP), so decimal mode leaks into the rest of the frame.",
            ]
        ),
        (
            d.pick(["SED sets the D flag in P.", "SED switches ADC and SBC to binary-coded decimal."]),
            d.pick(
                [
                    f"RTS returns with D still set; {caller} does not know.",
                    "No CLD or PLP runs before the return, so the flag state survives.",
                ]
            ),
            d.pick(
                [
                    "Binary additions elsewhere now produce BCD results ($09 + $01 = $10).",
                    "Coordinates, timers and counters added later are corrupted by decimal carries.",
                ]
            ),
        ),
        d.pick(
            [
                "PHP saves the status register before SED and PLP restores it, clearing D (and restoring the size "
                "flags) before RTS.",
                "PHP/PLP around the BCD code makes the decimal flag local to the routine; a CLD would also work, "
                "but PLP restores every flag at once.",
            ]
        ),
        observe="the status register shows the d flag set in the caller.",
        culprit="SED",
        caller=caller,
        spec=spec,
    )


def carry_lost_to_plp(d: Draw) -> Case:
    """A routine returns its result in the carry, then PLP restores the caller's P and erases it."""
    name = d.routine()
    table = d.sprite_table()
    slots = d.pick([0x07, 0x0F, 0x0B])
    found, loop = d.pick([".found", ".free_slot", ".got_one"]), d.loop_label()
    head = [f"{name}:", "PHP", "SEP #$30", f"LDX #{h2(slots)}", loop, f"LDA {table.absolute},X", f"BEQ {found}", "DEX"]
    head += [f"BPL {loop}", "PLP", "CLC", "RTS", found]
    buggy = d.asm([*head, "SEC", "PLP", "RTS"])
    fixed = d.asm([*head, "PLP", "SEC", "RTS"])
    # The carry is the answer: set when a slot is free, clear when none is - whatever carry the caller had.
    free = slots // 2
    taken = bytes(0x10 + i for i in range(slots + 1))

    def search(title: str, table_bytes: bytes, carry_in: bool, found_one: bool) -> Scenario:
        return Scenario(
            title,
            flags={**_ENTRY, "c": carry_in},
            memory={table.address: table_bytes},
            expect_registers={"c": int(found_one)},
            properties=(*RETURNS, "widths_kept"),
        )

    spec = BehaviourSpec(
        name,
        "jsr",
        (
            search(
                f"slot {free} is free, the caller's carry is clear",
                taken[:free] + b"\x00" + taken[free + 1 :],
                carry_in=False,
                found_one=True,
            ),
            search("every slot is taken, the caller's carry is set", taken, carry_in=True, found_one=False),
        ),
    )
    return Case(
        "flag_state",
        d.pick(["carry result overwritten by PLP", "PLP restores the carry flag too", "return flag lost"]),
        d.pick(
            [
                f"{name} should return carry set when it finds a free slot, but callers never see it.",
                f"Even when {table.what} has free slots, {name} reports none.",
                "The spawn code always thinks every slot is taken.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} signals 'found' with SEC and then executes PLP, which pulls the caller's whole processor "
                "status (P register) back from the stack, including the old carry flag, so the result is gone "
                "before RTS.",
                "The carry flag is part of the status byte PHP saved. On the found path SEC comes before PLP, so "
                "PLP overwrites the carry with the caller's value and the flag state the caller tests is stale.",
            ]
        ),
        (
            "PHP pushes the caller's status, including its carry, on entry.",
            d.pick(
                [
                    f"On the {found} path SEC sets carry = 1 as the result.",
                    "The found path sets the carry with SEC first.",
                ]
            ),
            d.pick(
                [
                    "PLP then restores all of P, so the carry is whatever the caller had.",
                    "PLP replaces every flag, the carry included, with the values saved on entry.",
                ]
            ),
        ),
        d.pick(
            [
                "PLP first, then SEC: the sizes come back from the stack and the carry still carries the result.",
                "Setting or clearing the carry after PLP keeps the flag the routine returns; the not-found path "
                "already does PLP then CLC.",
            ]
        ),
        culprit="SEC",
        spec=spec,
    )


# Where this family's templates stand in the generator's list: proposals depend on the order (seeded draws).
FAMILY_ORDER = 10
TEMPLATES = (
    mode_returns_wide,
    mode_rep30,
    missing_sep_store,
    missing_sep_ppu,
    wide_add_8bit,
    mask_8bit_immediate,
    decimal_flag_leak,
    carry_lost_to_plp,
)

"""Addressing: the wrong addressing mode, a bank or direct page the code did not expect, pointers built
wrong, and block moves that wrap at a bank boundary."""

from __future__ import annotations

from curation.asm.behaviour import BehaviourSpec, Scenario
from generators.bug_injection.case import Case
from generators.draw import Draw, h2, h4, h6
from generators.vocabulary import WRAM

# What every routine here owes its caller, whatever the bug: it comes back, with the stack as it was.
RETURNS = ("returns", "stack_balanced")


def _pattern(n: int, seed: int) -> bytes:
    """``n`` distinct-looking non-zero bytes, so a copy from the wrong place (zeros, other data) shows."""
    return bytes(((seed + 0x1D * i) % 0xFF) + 1 for i in range(n))


def mvn_banks_swapped(d: Draw) -> Case:
    """MVN with the source bank first: Asar's order is destination, source."""
    src_bank, dst_bank = d.pick([(0x7E, 0x7F), (0x7F, 0x7E)])
    offset = d.rng.randrange(0x2000, 0xE000, 0x100)
    count = d.pick([0x7F, 0xFF, 0x1FF, 0x3FF, 0x5FF])
    name = d.routine()
    dst_off = offset if d.chance(0.5) else d.rng.randrange(0x2000, 0xE000, 0x100)
    head = [f"{name}:", "PHB", "REP #$30", f"LDA #{h4(count)}", f"LDX #{h4(offset)}", f"LDY #{h4(dst_off)}"]
    tail = ["SEP #$30", "PLB", "RTS"]
    buggy = d.asm([*head, f"MVN {h2(src_bank)},{h2(dst_bank)}", *tail])
    fixed = d.asm([*head, f"MVN {h2(dst_bank)},{h2(src_bank)}", *tail])
    # The live data sits in the source bank, an old copy in the destination: the move must replace the old
    # copy with the live bytes and leave the live bytes alone.
    live, old = _pattern(count + 1, 0x40), _pattern(count + 1, 0xB3)
    source, target = src_bank << 16 | offset, dst_bank << 16 | dst_off
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                "save the live block into the other bank",
                flags={"m8": True, "x8": True},
                memory={source: live, target: old},
                expect_memory={target: live, source: live},
                properties=(*RETURNS, "db_kept", "widths_kept"),
            ),
        ),
    )
    return Case(
        "addressing_errors",
        d.pick(["MVN banks in the wrong order", "block move with swapped bank operands", "backup copies backwards"]),
        d.pick(
            [
                f"The copy from bank {h2(src_bank)} to {h2(dst_bank)} goes the other way.",
                "My WRAM backup overwrites the live data instead of saving it.",
                f"{name} should save {count + 1} bytes; instead the saved copy gets restored over my data.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"In Asar's syntax MVN takes the destination bank first and the source bank second, so MVN "
                f"{h2(src_bank)},{h2(dst_bank)} copies from bank {h2(dst_bank)} into bank {h2(src_bank)}: the long "
                "addressing of the block move is reversed, and the indexed copy reads the wrong bank.",
                f"The bank operands of the block move are swapped. X holds the source address and Y the destination "
                f"address, but the banks written as {h2(src_bank)},{h2(dst_bank)} mean destination {h2(src_bank)}, "
                f"source {h2(dst_bank)} in Asar, so the indexed copy runs backwards.",
            ]
        ),
        (
            d.pick(
                [
                    f"X = {h4(offset)} and Y = {h4(dst_off)} are the source and destination offsets.",
                    "X and Y hold the 16-bit source and destination addresses.",
                ]
            ),
            "The first MVN operand becomes the destination bank, the second the source bank.",
            d.pick(
                [
                    "With the banks swapped, the data flows from the backup's bank into the live bank.",
                    f"The move writes bank {h2(src_bank)}, the bank that was meant to be read.",
                ]
            ),
        ),
        d.pick(
            [
                "Writing the destination bank first makes the move copy in the intended direction.",
                f"MVN {h2(dst_bank)},{h2(src_bank)} reads bank {h2(src_bank)} and writes bank {h2(dst_bank)}.",
            ]
        ),
        observe="a write breakpoint fires in the bank that should only be read.",
        culprit=f"MVN {h2(src_bank)},{h2(dst_bank)}",
        spec=spec,
    )


def absolute_save_variable(d: Draw) -> Case:
    """A $7EFxxx save variable read with absolute addressing while DB is the program bank."""
    name = d.routine()
    var = d.save_ram(wide=False)
    limit, value = d.int(2, 0x20), d.int(1, 0x40)
    ok = d.exit_label()

    def code(address: str) -> str:
        return d.asm(
            [
                f"{name}:",
                "PHB",
                "PHK",
                "PLB",
                "SEP #$20",
                f"LDA {address}",
                f"CMP #{h2(limit)}",
                f"BCS {ok}",
                f"LDA #{h2(value)}",
                f"STA {address}",
                ok,
                "PLB",
                "RTL",
            ]
        )

    # Below the limit the routine must write the refill value into WRAM; at the limit it leaves it alone.
    spec = BehaviourSpec(
        name,
        "jsl",
        (
            Scenario(
                f"{var.what} empty, below {limit}",
                flags={"m8": True, "x8": True},
                memory={var.address: bytes([0])},
                expect_memory={var.address: bytes([value])},
                properties=(*RETURNS, "db_kept"),
            ),
            Scenario(
                f"{var.what} already at {limit}",
                flags={"m8": True, "x8": True},
                memory={var.address: bytes([limit])},
                expect_memory={var.address: bytes([limit])},
                properties=(*RETURNS, "db_kept"),
            ),
        ),
    )
    return Case(
        "addressing_errors",
        d.pick(["absolute address in the wrong bank", "save variable read without its bank", "missing long address"]),
        d.pick(
            [
                f"{name} is supposed to top up {var.what}, but nothing happens.",
                f"The check on {var.long} never sees the real value.",
                f"Refilling {var.what} does nothing, and the value it compares against looks random.",
            ]
        ),
        code(var.absolute),
        code(var.long),
        d.pick(
            [
                f"{var.what.capitalize()} lives at {var.long}, but {name} uses the absolute address {var.absolute}. "
                "Absolute addressing takes its bank from the data bank register, and PHK/PLB just set DB to the "
                f"program bank, so the routine reads and writes {var.absolute} in ROM, not in bank $7E.",
                f"{var.absolute} is a 16-bit absolute address: the bank comes from DB, which is the code's own bank "
                f"after PHK : PLB. {var.long} has to be written as a long address to reach WRAM bank $7E.",
            ]
        ),
        (
            "PHK/PLB make DB the bank the code runs in.",
            d.pick(
                [
                    f"LDA {var.absolute} reads DB:{var.absolute[1:]}, a ROM byte.",
                    f"The absolute read of {var.absolute} goes to the program bank, not $7E.",
                ]
            ),
            d.pick(
                [
                    "The compare uses that ROM byte and the store goes to ROM, where it is ignored.",
                    f"STA {var.absolute} writes into ROM space, so {var.what} never changes.",
                ]
            ),
        ),
        d.pick(
            [
                f"The long address {var.long} carries its own bank byte, so it reaches WRAM whatever DB holds.",
                f"Long addressing ({var.long}) makes the access independent of the data bank.",
            ]
        ),
        culprit=f"LDA {var.absolute}",
        spec=spec,
    )


def missing_immediate(d: Draw) -> Case:
    """``CMP $10`` where ``CMP #$10`` was meant: a direct-page read instead of an immediate."""
    name = d.routine()
    var = d.save_ram(wide=False) if d.chance(0.5) else d.free_ram()
    limit = d.int(0x02, 0x60)
    op = d.pick(["CMP", "AND", "ADC"])
    skip = d.exit_label()
    meaning = {"CMP": f"caps {var.what} at {limit}", "AND": f"masks {var.what} with {h2(limit)}"}.get(
        op, f"adds {limit} to {var.what}"
    )

    def code(mark: str) -> str:
        if op == "CMP":
            body = [f"CMP {mark}{h2(limit)}", f"BCC {skip}", f"LDA #{h2(limit)}", f"STA {var.long}", skip]
        elif op == "AND":
            body = [f"AND {mark}{h2(limit)}", f"STA {var.long}"]
        else:
            body = ["CLC", f"ADC {mark}{h2(limit)}", f"STA {var.long}"]
        return d.asm([f"{name}:", "SEP #$20", f"LDA {var.long}", *body, "RTS"])

    buggy, fixed = code(""), code("#")
    # The direct page byte at $limit is scratch the game reuses: one room leaves $00 there, another $FF.
    if op == "CMP":
        runs = [(min(limit + 0x10, 0xFE), limit, "above the cap"), (limit - 1, limit - 1, "just below the cap")]
    elif op == "AND":
        runs = [(0xFF, limit, "all bits set"), (0xFF, limit, "all bits set")]
    else:
        runs = [(0x10, 0x10 + limit, "small value"), (0x10, 0x10 + limit, "small value")]
    spec = BehaviourSpec(
        name,
        "jsr",
        tuple(
            Scenario(
                f"{what}, scratch byte {h2(limit)} = {h2(junk)}",
                registers={"d": 0},
                flags={"m8": True, "x8": True},
                memory={var.address: bytes([before]), 0x7E0000 + limit: bytes([junk])},
                expect_memory={var.address: bytes([after])},
                properties=RETURNS,
            )
            for (before, after, what), junk in zip(runs, (0xFF, 0x00), strict=True)
        ),
    )
    return Case(
        "addressing_mode",
        d.pick(["direct page instead of immediate", "missing # on the operand", "wrong addressing mode"]),
        d.pick(
            [
                f"{name} {meaning}, or it should; the result changes from room to room.",
                f"The value at {var.long} comes out different every time {name} runs.",
                f"{name} works in one room and does nonsense in the next.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{op} {h2(limit)} has no #, so it uses the direct page addressing mode: the operand is the byte at "
                "address "
                f"{h2(limit)} in the direct page, not the number {h2(limit)}. That scratch byte changes constantly, "
                "which is why the result does too.",
                f"The addressing mode is wrong: without the # the assembler encodes {op} {h2(limit)} as a direct page "
                f"read of memory at {h2(limit)}. {name} wants the immediate value {h2(limit)} as the operand.",
            ]
        ),
        (
            f"LDA {var.long} loads {var.what}.",
            d.pick(
                [
                    f"{op} {h2(limit)} reads the byte at $00{limit:02X} (D = $0000) as its operand.",
                    f"The operand comes from memory at {h2(limit)}, whatever the game left there.",
                ]
            ),
            "The result depends on that scratch byte, so it differs between rooms and frames.",
        ),
        d.pick(
            [
                f"{op} #{h2(limit)} is the immediate form: the operand is the constant itself.",
                "With the # the instruction uses immediate addressing and the constant in the code.",
            ]
        ),
        culprit=f"{op} {h2(limit)}",
        spec=spec,
    )


def indexed_indirect_confusion(d: Draw) -> Case:
    """``LDA ($10,X)`` where ``LDA ($10),Y`` was meant: the pointer is fetched from the wrong place."""
    name = d.routine()
    ptr = d.scratch(even=True)
    count = d.int(3, 15)
    # A buffer in the low 8 KiB of WRAM: the fix's absolute,Y store (there is no long,Y) reaches it from
    # any data bank in $00-$3F, where the routine's own ROM table lives.
    dest = 0x7E0000 + d.rng.randrange(0x1000, 0x1E00, 0x20)
    loop = d.loop_label()

    def code(read: str, index: str) -> str:
        store = f"STA ${dest:06X},X" if index == "X" else f"STA ${dest & 0xFFFF:04X},Y"
        return d.asm(
            [f"{name}:", "SEP #$30", f"LD{index} #{h2(count)}", loop, read, store, f"DE{index}", f"BPL {loop}", "RTS"]
        )

    # The pointer at ptr names a table in the data bank (ROM); the rest of the direct page is zero, so
    # every pointer (ptr,X) makes up for X > 0 reads something other than the table.
    table = d.rng.randrange(0x9000, 0xB000, 0x10)
    data = _pattern(count + 1, 0x52)
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"pointer {h2(ptr)} -> ${table:04X}",
                registers={"d": 0, "db": 0x00},
                flags={"m8": True, "x8": True},
                memory={0x7E0000 | ptr: bytes([table & 0xFF, table >> 8]), table: data},
                expect_memory={dest: data},
                properties=RETURNS,
            ),
        ),
    )
    return Case(
        "addressing_mode",
        d.pick(
            ["indexed indirect instead of indirect indexed", "(dp,X) used for a pointer walk", "wrong indirect mode"]
        ),
        d.pick(
            [
                f"{name} should copy {count + 1} bytes from the data at the pointer in {h2(ptr)}, but copies junk.",
                "Only the first byte is right, everything else comes from random addresses.",
                f"The pointer in {h2(ptr)}/{h2(ptr + 1)} is correct, yet the copied bytes are wrong.",
            ]
        ),
        code(f"LDA ({h2(ptr)},X)", "X"),
        code(f"LDA ({h2(ptr)}),Y", "Y"),
        d.pick(
            [
                f"LDA ({h2(ptr)},X) is indexed indirect: X is added to the direct page address before the pointer is "
                f"read, so each pass fetches a different 'pointer' from {h2(ptr)}+X. To walk the data one pointer "
                f"addresses, the mode is indirect indexed, ({h2(ptr)}),Y, which adds Y after the pointer is read.",
                f"The addressing mode picks the pointer, not the data. With ({h2(ptr)},X) the operand address is "
                f"{h2(ptr)}+X, so {name} reads a new pointer every iteration; ({h2(ptr)}),Y reads the pointer once "
                "and indexes the data it points to.",
            ]
        ),
        (
            f"The loop counts X down from {h2(count)}.",
            f"({h2(ptr)},X) reads the pointer at {h2(ptr)}+X, which is only the real pointer when X = 0.",
            "Every other pass dereferences a pair of unrelated direct page bytes.",
        ),
        d.pick(
            [
                f"With ({h2(ptr)}),Y the pointer stays fixed and Y steps through the bytes it points to; the store "
                "uses absolute,Y to match.",
                "Indirect indexed addressing adds the index after fetching the pointer, which is what a table walk "
                "needs.",
            ]
        ),
        culprit=f"LDA ({h2(ptr)},X)",
        spec=spec,
    )


def pointer_bank_unset(d: Draw) -> Case:
    """A 24-bit pointer whose bank byte is never written before ``LDA [dp],Y``."""
    name = d.routine()
    ptr = d.scratch(even=True) & 0x0C
    bank, address = d.int(0x0C, 0x3F), d.rng.randrange(0x8000, 0xFF00, 0x10)
    dest, count = d.low_ram(), d.int(3, 15)
    loop = d.loop_label()
    setup = [f"{name}:", "REP #$20", f"LDA #{h4(address)}", f"STA {h2(ptr)}", "SEP #$20"]
    walk = ["SEP #$10", f"LDY #{h2(count)}", loop, f"LDA [{h2(ptr)}],Y", f"STA {dest.absolute},Y", "DEY"]
    walk += [f"BPL {loop}", "RTS"]
    buggy = d.asm([*setup, *walk])
    fixed = d.asm([*setup, f"LDA #{h2(bank)}", f"STA {h2(ptr + 2)}", *walk])
    # The table is in ROM at bank:address; the bank byte holds whatever an earlier pointer left there.
    data = _pattern(count + 1, 0x2B)
    spec = BehaviourSpec(
        name,
        "jsr",
        tuple(
            Scenario(
                f"bank byte {h2(ptr + 2)} left at {h2(stale)} by {why}",
                registers={"d": 0},
                flags={"m8": True, "x8": True},
                memory={bank << 16 | address: data, 0x7E0000 | (ptr + 2): bytes([stale])},
                expect_memory={dest.address: data},
                properties=(*RETURNS, "widths_kept"),
            )
            for stale, why in ((0x7E, "a WRAM pointer"), (bank ^ 0x01, "a pointer into the next bank"))
        ),
    )
    return Case(
        "pointer_bugs",
        d.pick(["long pointer without a bank byte", "bank byte of the pointer never set", "24-bit pointer half built"]),
        d.pick(
            [
                f"{name} reads garbage instead of my table at ${bank:02X}:{address:04X}.",
                "The data copied through the pointer is different every time I enter the room.",
                f"The copy to {dest.absolute} works only when I call {name} right after another routine.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"LDA [{h2(ptr)}],Y uses a 24-bit pointer: the address at {h2(ptr)}/{h2(ptr + 1)} and the bank byte "
                f"at {h2(ptr + 2)}. {name} only writes the 16-bit address, so the bank is whatever was left in direct "
                "page and the indirect read goes to the wrong bank.",
                f"The pointer is incomplete: indirect long addressing reads three direct page bytes, and the third "
                f"({h2(ptr + 2)}, the bank) is never set. Y indexes into a stale bank instead of ${bank:02X}.",
            ]
        ),
        (
            f"REP #$20 / STA {h2(ptr)} writes the low and high address bytes.",
            f"{h2(ptr + 2)} keeps an old value from whatever code used it last.",
            f"LDA [{h2(ptr)}],Y reads ${address:04X}+Y in whatever bank {h2(ptr + 2)} names.",
        ),
        d.pick(
            [
                f"Storing ${bank:02X} in {h2(ptr + 2)} completes the pointer, so the indirect long read reaches the "
                "table.",
                "All three bytes of the pointer are set before the indexed read.",
            ]
        ),
        culprit=f"LDA [{h2(ptr)}],Y",
        spec=spec,
    )


def pointer_bytes_swapped(d: Draw) -> Case:
    """A pointer written high byte first: the CPU reads pointers low byte first."""
    name = d.routine()
    ptr = d.scratch(even=True)
    # A ROM table in the data bank (clear of the routine itself), whose two address bytes differ: with equal
    # bytes the swapped pointer would be the right one.
    address = d.rng.randrange(0x8100, 0xFF00, 0x10) | d.int(1, 0xF)
    if address >> 8 == address & 0xFF:
        address += 0x10
    # Low WRAM, so the absolute,Y store reaches it from the data bank the table is read from.
    dest, count = d.low_ram(), d.int(3, 15)
    loop = d.loop_label()
    walk = [f"LDY #{h2(count)}", loop, f"LDA ({h2(ptr)}),Y", f"STA {dest.absolute},Y", "DEY", f"BPL {loop}", "RTS"]
    hi, lo = h2(address >> 8), h2(address)
    buggy = d.asm([f"{name}:", "SEP #$30", f"LDA #{hi}", f"STA {h2(ptr)}", f"LDA #{lo}", f"STA {h2(ptr + 1)}", *walk])
    fixed = d.asm([f"{name}:", "SEP #$30", f"LDA #{lo}", f"STA {h2(ptr)}", f"LDA #{hi}", f"STA {h2(ptr + 1)}", *walk])
    swapped = ((address & 0xFF) << 8) | (address >> 8)
    data = _pattern(count + 1, 0x67)
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"table at ${address:04X} in the data bank",
                registers={"d": 0, "db": 0x00},
                flags={"m8": True, "x8": True},
                memory={address: data},
                expect_memory={dest.address: data, 0x7E0000 | ptr: bytes([address & 0xFF, address >> 8])},
                properties=RETURNS,
            ),
        ),
    )
    return Case(
        "pointer_bugs",
        d.pick(["pointer bytes in the wrong order", "big-endian pointer", "high and low bytes swapped"]),
        d.pick(
            [
                f"{name} should read the table at ${address:04X}, but the data is from somewhere else.",
                "The bytes copied through my pointer are nonsense.",
                f"Watching {h2(ptr)} in the debugger, the pointer looks right to me: {hi} {lo}.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The 65816 reads a direct page pointer little-endian: low byte at {h2(ptr)}, high byte at "
                f"{h2(ptr + 1)}. "
                f"{name} writes {hi} to {h2(ptr)} and {lo} to {h2(ptr + 1)}, so the indirect ({h2(ptr)}),Y points to "
                f"${swapped:04X}, not ${address:04X}. The index Y then walks the wrong data.",
                f"The direct page pointer is built big-endian. Indirect addressing reads the low byte first, so the "
                f"pointer at {h2(ptr)} means ${swapped:04X} and the indexed reads come from there.",
            ]
        ),
        (
            f"{h2(ptr)} = {hi} and {h2(ptr + 1)} = {lo} after the two stores.",
            f"({h2(ptr)}),Y takes {h2(ptr)} as the low byte: the pointer is ${swapped:04X}.",
            "Each LDA reads a byte of an unrelated area.",
        ),
        d.pick(
            [
                f"Low byte ({lo}) to {h2(ptr)}, high byte ({hi}) to {h2(ptr + 1)}: the pointer now reads "
                f"${address:04X}.",
                "Writing the pointer low byte first matches how the CPU reads it.",
            ]
        ),
        culprit=f"STA {h2(ptr)}",
        spec=spec,
    )


def mvn_wraps_bank(d: Draw) -> Case:
    """A block move whose destination runs past $FFFF: MVN wraps within the bank."""
    name = d.routine()
    size = d.pick([0x400, 0x800, 0x600, 0xA00])
    over = d.pick([0x100, 0x200, 0x80])
    dst = (0x10000 - size + over) & 0xFFFF
    src = d.rng.randrange(0x2000, 0x8000, 0x100)
    src_bank, dst_bank = d.pick([(0x7F, 0x7E), (0x7E, 0x7F)])
    ok_dst = 0x10000 - size - d.pick([0, 0x100, 0x200])
    head = [f"{name}:", "PHB", "REP #$30", f"LDA #{h4(size - 1)}", f"LDX #{h4(src)}"]
    tail = [f"MVN {h2(dst_bank)},{h2(src_bank)}", "SEP #$30", "PLB", "RTS"]
    buggy = d.asm([*head, f"LDY #{h4(dst)}", *tail])
    fixed = d.asm([*head, f"LDY #{h4(ok_dst)}", *tail])
    # What the wrapped tail lands on: in bank $7E the direct page (and past $0100 the stack page).
    victim = ("the direct page and the stack" if over > 0x100 else "the direct page") if dst_bank == 0x7E else ""
    # The bottom of the destination bank holds live data that the move must not touch (the first $100 bytes:
    # above them in bank $7E the harness keeps its stack); the source bytes that would wrap onto it differ
    # from it, so a wrapped copy shows.
    guarded = min(over, 0x100)
    tail_start = src_bank << 16 | (src + size - over)
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"copy {h4(size)} bytes from ${src_bank:02X}:{src:04X}",
                flags={"m8": True, "x8": True},
                memory={dst_bank << 16: _pattern(guarded, 0x21), tail_start: _pattern(guarded, 0x9C)},
                expect_memory={dst_bank << 16: _pattern(guarded, 0x21)},
                properties=(*RETURNS, "db_kept", "widths_kept"),
            ),
        ),
    )
    return Case(
        "bank_boundary",
        d.pick(["block move wraps at the bank boundary", "MVN crosses $FFFF", "destination wraps to $0000"]),
        d.pick(
            [
                f"Right after {name} the game crashes or Link teleports.",
                f"{name} copies {h4(size)} bytes and the game's low RAM gets trashed.",
                f"The copy itself looks fine, but {victim} {'are' if over > 0x100 else 'is'} garbage afterwards.",
            ]
            if victim
            else [
                f"Right after {name}, what I keep at $7F:0000 is garbage.",
                f"{name} copies {h4(size)} bytes and the start of bank $7F gets trashed.",
                "The copy itself looks fine, but the data at the bottom of bank $7F is garbage afterwards.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The destination ${dst_bank:02X}:{dst:04X} plus {h4(size)} bytes crosses the end of the bank. MVN "
                "does not carry into the next bank: Y wraps from $FFFF to $0000 inside the same destination bank, "
                f"so the last {h4(over)} bytes land at ${dst_bank:02X}:0000 and up.",
                f"{name}'s block move runs past the bank boundary at ${dst_bank:02X}:FFFF. The 16-bit destination "
                f"index wraps around within bank ${dst_bank:02X}, so the tail of the copy overwrites "
                f"${dst_bank:02X}:0000-{over - 1:04X}" + (f", which in bank $7E is {victim}." if victim else "."),
            ]
        ),
        (
            f"MVN copies A+1 = {h4(size)} bytes, incrementing X and Y after each byte.",
            f"Y starts at {h4(dst)}, so after {h4(size - over)} bytes it wraps from $FFFF to $0000.",
            f"The bank byte stays ${dst_bank:02X}: the rest of the copy goes to the bottom of the bank.",
        ),
        d.pick(
            [
                f"A destination of {h4(ok_dst)} keeps the whole copy below ${dst_bank:02X}:FFFF; a buffer that "
                "must cross a bank needs two moves, one per bank.",
                "Placing the buffer so it ends before the bank boundary keeps the move within one bank, where MVN "
                "works.",
            ]
        ),
        culprit=f"LDY #{h4(dst)}",
        spec=spec,
    )


def table_read_with_callers_bank(d: Draw) -> Case:
    """A routine reached by JSL reads its own table with absolute addressing, using the caller's DB."""
    name = d.routine()
    table = d.pick(["SpeedTable", "DamageTable", "OffsetTable", "FrameTable", "TileTable"])
    dest = d.sprite_table()
    bank = d.int(0x20, 0x3F)
    values = [d.int(0, 0x7F) for _ in range(d.int(4, 8))]
    entries = [h2(v) for v in values]
    body = [f"LDA {table},Y", f"STA {h6(dest.address)},X"]

    def code(with_bank: bool) -> str:
        wrap = (["PHB", "PHK", "PLB"], ["PLB"]) if with_bank else ([], [])
        return d.asm([f"{name}:", *wrap[0], *body, *wrap[1], "RTL", f"{table}:", f"db {','.join(entries)}"])

    # The harness runs the routine in bank $00 (its table right after the code, in $00:8000-80FF); the
    # caller's bank holds other data at those offsets ($80-$FF bytes, never a table entry).
    other = bytes(0x80 | b for b in _pattern(0x100, 0x35))
    slots = (d.int(0, 15), d.int(0, 15))
    spec = BehaviourSpec(
        name,
        "jsl",
        tuple(
            Scenario(
                f"JSL from a caller with DB = {h2(caller_bank)}, slot {slot}, entry {index}",
                registers={"db": caller_bank, "x": slot, "y": index},
                flags={"m8": True, "x8": True},
                memory={caller_bank << 16 | 0x8000: other, dest.address + slot: bytes([0xFF])},
                expect_memory={dest.address + slot: bytes([values[index]])},
                properties=(*RETURNS, "db_kept"),
            )
            for caller_bank, slot, index in ((0x06, slots[0], 0), (0x7E, slots[1], len(values) - 1))
        ),
    )
    return Case(
        "bank_boundary",
        d.pick(["table read with the caller's data bank", "DB not set after the JSL", "cross-bank table read"]),
        d.pick(
            [
                f"I moved {name} and its {table} to bank ${bank:02X}; now the values it reads are garbage.",
                f"{name} worked in bank $06 but reads nonsense since it lives in my new bank ${bank:02X}.",
                f"{dest.what} gets random values from {name}.",
            ]
        ),
        code(False),
        code(True),
        d.pick(
            [
                f"{table},Y is absolute indexed addressing, so its bank comes from the data bank register. {name} "
                f"is reached with JSL from another bank, and the call crosses into bank ${bank:02X} without DB "
                f"following: the read goes to the caller's bank at the same offset.",
                f"JSL changes the program bank but not DB. {name} reads {table} with a 16-bit address, which is "
                f"resolved in the caller's data bank; PHB/PHK/PLB has to set DB to the routine's bank when the "
                "code crosses banks.",
            ]
        ),
        (
            f"The JSL jumps into bank ${bank:02X}; DB still holds the caller's bank.",
            d.pick(
                [
                    f"LDA {table},Y uses DB:{table}+Y, a different bank than the table's.",
                    "The absolute read is resolved in the wrong bank.",
                ]
            ),
            f"The long store to {h6(dest.address)},X writes whatever byte it found there.",
        ),
        d.pick(
            [
                "PHB saves the caller's DB, PHK/PLB set DB to the program bank so the table read hits the table, "
                "and PLB restores the caller's bank before RTL.",
                "Setting DB = PB on entry (and restoring it on exit) makes absolute addresses refer to the "
                "routine's own bank.",
            ]
        ),
        culprit=f"LDA {table},Y",
        spec=spec,
    )


def absolute_above_mirror(d: Draw) -> Case:
    """A WRAM variable above $7E1FFF written with absolute addressing from a bank where only $0000-$1FFF mirror."""
    name = d.routine()
    address = 0x7E0000 + d.rng.randrange(0x3000, 0x8000, 2)
    value = d.int(1, 0x7F)
    abs_, long_ = f"${address & 0xFFFF:04X}", f"${address:06X}"
    head = [f"{name}:", "SEP #$20", f"LDA #{h2(value)}"]

    counter = d.low_ram()

    def code(addr: str) -> str:
        return d.asm([*head, f"STA {addr}", f"LDA {addr}", "BEQ +", f"INC {counter.absolute}", "+", "RTL"])

    buggy, fixed = code(abs_), code(long_)
    # Called with DB in the system banks (the program bank $00, or its FastROM mirror $80): the store must
    # reach the WRAM variable, and the read-back must see it (so the counter goes up).
    spec = BehaviourSpec(
        name,
        "jsl",
        tuple(
            Scenario(
                f"DB = {h2(bank)}",
                registers={"db": bank},
                flags={"m8": True, "x8": True},
                memory={address: bytes([0]), counter.address: bytes([0x03])},
                expect_memory={address: bytes([value]), counter.address: bytes([0x04])},
                properties=(*RETURNS, "db_kept"),
            )
            for bank in (0x00, 0x80)
        ),
    )
    return Case(
        "memory_access",
        d.pick(
            [
                "WRAM above the mirror written with a 16-bit address",
                "variable outside the low-RAM mirror",
                "absolute write misses WRAM",
            ]
        ),
        d.pick(
            [
                f"My new variable at {long_} never changes, even though {name} writes it.",
                f"The RAM watch on {long_} stays 0 while {name} runs.",
                f"Reading back {abs_} right after the write gives a different value.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} runs with DB in banks $00-$3F, where only $0000-$1FFF mirror WRAM. {abs_} is above the "
                f"mirror: the absolute write goes to the I/O and open-bus area, not to {long_}, and the read back "
                "loads open bus. The memory the routine means needs a long address.",
                f"The variable lives in WRAM at {long_}, but STA {abs_} is a 16-bit address in the data bank. In "
                "the system banks that range is not RAM, so the store is lost and the load returns open bus.",
            ]
        ),
        (
            "Banks $00-$3F map WRAM only at $0000-$1FFF.",
            f"STA {abs_} writes to DB:{abs_[1:]}, which is not WRAM.",
            f"LDA {abs_} reads open bus, so the value never matches what was stored.",
        ),
        d.pick(
            [
                f"The long address {long_} names bank $7E itself, so the store and load reach the variable.",
                f"With long addressing the access goes straight to WRAM at {long_}, whatever DB is.",
            ]
        ),
        culprit=f"STA {abs_}",
        spec=spec,
    )


def direct_page_moved(d: Draw) -> Case:
    """A game variable read as direct page while D points at the DMA registers."""
    name = d.routine()
    var = d.pick([r for r in WRAM if r.address < 0x7E0100])
    n = d.int(0, 7)
    base = 0x4300 + n * 0x10
    var_dp = var.address & 0xFF
    head = [f"{name}:", "PHD", "REP #$20", f"LDA #{h4(base)}", "TCD", "SEP #$20", "LDA #$01", "STA $00"]
    head += ["LDA #$18", "STA $01"]
    tail = ["STA $04", "PLD", "RTS"]
    buggy = d.asm([*head, f"LDA {h2(var_dp)}", *tail])
    fixed = d.asm([*head, f"LDA ${0x7E0000 | var_dp:06X}", *tail])
    wrong = base + var_dp
    # $4380 and up is no DMA channel any more, just the I/O area.
    read_there = "a DMA register value" if wrong < 0x4380 else "whatever the I/O area returns"
    # The register at D + dp reads back something else than the variable: the third write must carry the
    # variable, the first two the values the moved direct page is for.
    spec = BehaviourSpec(
        name,
        "jsr",
        tuple(
            Scenario(
                f"{var.what} = {h2(value)}, {h4(wrong)} reads {h2(junk)}",
                registers={"d": 0},
                flags={"m8": True, "x8": True},
                memory={var.address: bytes([value])},
                io={wrong: junk},
                expect_io={base: 0x01, base + 1: 0x18, base + 4: value},
                properties=(*RETURNS, "d_kept", "widths_kept"),
            )
            for value, junk in ((0x07, 0xFF), (0x5A, 0x00))
        ),
    )
    return Case(
        "memory_access",
        d.pick(
            [
                "direct page read with D moved",
                "game variable read through the wrong direct page",
                "D register not $0000",
            ]
        ),
        d.pick(
            [
                f"{name} should copy {var.what} ({h2(var_dp)}) into the channel register, but it is always wrong.",
                f"The byte {name} reads from {h2(var_dp)} is not what the RAM watch shows.",
                "Since I switched this routine to D = $43x0 for speed, one value is wrong.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"TCD set the direct page register to {h4(base)} so the DMA registers can be written as $00/$01. "
                f"LDA {h2(var_dp)} is direct page addressing too, so it reads {h4(base + var_dp)}, not "
                f"{var.what} at $7E00{var_dp:02X}: the memory address depends on D.",
                f"Every direct page address is added to D. With D = {h4(base)}, the read of {h2(var_dp)} loads "
                f"from {h4(wrong)} in bank 0, so the routine gets {read_there} instead of the RAM it means.",
            ]
        ),
        (
            f"PHD / TCD make D = {h4(base)}.",
            f"STA $00 and STA $01 now write {h4(base)} and {h4(base + 1)}, as intended.",
            f"LDA {h2(var_dp)} reads {h4(base + var_dp)} instead of $7E00{var_dp:02X}.",
        ),
        d.pick(
            [
                f"The long address ${0x7E0000 | var_dp:06X} ignores D, so the load gets the game's variable while "
                "the DMA writes still use the fast direct page.",
                "Reading the variable with long addressing keeps it out of the moved direct page.",
            ]
        ),
        culprit=f"LDA {h2(var_dp)}",
        spec=spec,
    )


# Where this family's templates stand in the generator's list: proposals depend on the order (seeded draws).
FAMILY_ORDER = 50
TEMPLATES = (
    mvn_banks_swapped,
    absolute_save_variable,
    missing_immediate,
    indexed_indirect_confusion,
    pointer_bank_unset,
    pointer_bytes_swapped,
    mvn_wraps_bank,
    table_read_with_callers_bank,
    absolute_above_mirror,
    direct_page_moved,
)

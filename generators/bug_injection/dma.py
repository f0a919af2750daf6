"""DMA and HDMA: channel registers ($43n0-$43nA) set up wrong, and channels shared between the two.

Every template draws its channel (0-7), so the register numbers, the $420B/$420C bit and the
wording all move with it; the byte count registers are named as $4305/$4306 (channel 0) and as
the drawn channel's own pair.
"""

from __future__ import annotations

from curation.asm.behaviour import BehaviourSpec, Scenario
from generators.bug_injection.case import Case
from generators.draw import Draw, h2, h4

# The interpreter runs no DMA: a spec checks the values the routine leaves in the channel registers
# ($43n0-$43nA) and in $420B/$420C, which is what the DMA unit reads when the transfer starts.
_ENTRY = {"m8": True, "x8": True}  # ALttP's usual 8-bit A and X/Y on the way in


def _reg(channel: int, low: int) -> str:
    return f"$43{channel}{low:X}"


def _port(channel: int, low: int) -> int:
    """The channel's register as a number, for a spec's expected writes."""
    return 0x4300 | channel << 4 | low


def _rom_source(d: Draw) -> tuple[int, int]:
    return d.int(0x0C, 0x3F), d.rng.randrange(0x8000, 0xF000, 0x100)


def _dma_writes(n: int, mode: int, target: int, bank: int, src: int, size: int) -> dict[int, int]:
    """The register values a correct one-shot DMA on channel ``n`` leaves behind (size $10000 is written 0)."""
    return {
        _port(n, 0): mode,
        _port(n, 1): target,
        _port(n, 2): src & 0xFF,
        _port(n, 3): src >> 8 & 0xFF,
        _port(n, 4): bank,
        _port(n, 5): size & 0xFF,
        _port(n, 6): size >> 8 & 0xFF,
        0x420B: 1 << n,
    }


def _upload_spec(name: str, scenario: str, writes: dict[int, int]) -> BehaviourSpec:
    """A DMA routine called with JSR: it returns, and the channel holds ``writes`` when $420B fires."""
    return BehaviourSpec(
        name,
        "jsr",
        (Scenario(scenario, flags=dict(_ENTRY), expect_io=writes, properties=("returns", "stack_balanced")),),
    )


def count_never_set(d: Draw) -> Case:
    """A VRAM upload whose byte count ($43n5/$43n6) is never written."""
    n = d.int(0, 7)
    size = d.pick([0x200, 0x400, 0x800, 0x1000, 0x600])
    vram = d.rng.randrange(0x1000, 0x7000, 0x400)
    bank, src = _rom_source(d)
    name = d.routine()
    head = [f"{name}:", "REP #$10", "SEP #$20", "LDA #$80", "STA $2115", f"LDX #{h4(vram)}", "STX $2116"]
    regs = ["LDA #$01", f"STA {_reg(n, 0)}", "LDA #$18", f"STA {_reg(n, 1)}", f"LDX #{h4(src)}"]
    regs += [f"STX {_reg(n, 2)}", f"LDA #{h2(bank)}", f"STA {_reg(n, 4)}"]
    start = [f"LDA #{h2(1 << n)}", "STA $420B", "RTS"]
    buggy = d.asm([*head, *regs, *start])
    fixed = d.asm([*head, *regs, f"LDX #{h4(size)}", f"STX {_reg(n, 5)}", *start])
    pair = "$4305/$4306" if n == 0 else f"{_reg(n, 5)}/{_reg(n, 6)} (channel {n}'s copy of $4305/$4306)"
    return Case(
        "dma_setup",
        d.pick(["DMA byte count never set", "missing DMA length", "transfer size left to chance"]),
        d.pick(
            [
                "The tiles upload, but the DMA overwrites all of VRAM and the screen turns to garbage.",
                f"{name} takes forever and corrupts everything after the tiles at VRAM {h4(vram)}.",
                "Sometimes the upload is fine, sometimes half of VRAM is trashed.",
                f"After {name} runs, every background layer shows garbage tiles.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} never writes the byte count, {pair}, so the DMA length is whatever an earlier transfer left "
                f"there; a count of 0 means 65536 bytes, far more than the {h4(size)} bytes of tiles.",
                f"The transfer size is missing: channel {n} gets its mode, B-bus target, source and bank, but no "
                f"count in {pair}. STA $420B then runs the DMA with a stale length, and 0 bytes counts as 65536.",
            ]
        ),
        (
            d.pick(
                [
                    f"{_reg(n, 0)}-{_reg(n, 4)} set the mode, the B-bus target $2118 and the source address.",
                    f"Channel {n} is pointed at VMDATA ($2118/$2119) with source ${bank:02X}:{src:04X}.",
                ]
            ),
            d.pick(
                [
                    f"{_reg(n, 5)}/{_reg(n, 6)} still hold an old count, often 0, which the DMA treats as 65536 bytes.",
                    "Nothing writes the count, so its value is left over from the last transfer on this channel.",
                ]
            ),
            d.pick(
                [
                    "STA $420B starts the transfer and it keeps copying past the tiles into the rest of VRAM.",
                    f"Writing {h2(1 << n)} to $420B starts channel {n}, which copies the wrong number of bytes.",
                ]
            ),
        ),
        d.pick(
            [
                f"Writing {h4(size)} to {_reg(n, 5)} sets the byte count, so the DMA stops after the tiles.",
                f"With the length in {_reg(n, 5)}/{_reg(n, 6)}, the channel copies exactly {h4(size)} bytes.",
            ]
        ),
        observe=f"the DMA log shows channel {n} moving 65536 bytes.",
        culprit="STA $420B",
        spec=_upload_spec(
            name,
            f"tile upload of {h4(size)} bytes: {_reg(n, 5)}/{_reg(n, 6)} must hold the length when $420B fires",
            _dma_writes(n, 0x01, 0x18, bank, src, size) | {0x2116: vram & 0xFF, 0x2117: vram >> 8},
        ),
    )


def count_bytes_swapped(d: Draw) -> Case:
    """An 8-bit setup that writes the count's high byte into the low register."""
    n = d.int(0, 7)
    pages = d.pick([0x02, 0x04, 0x08, 0x10, 0x06])
    vram = d.rng.randrange(0x0000, 0x7000, 0x800)
    bank, src = _rom_source(d)
    name = d.routine()
    head = [f"{name}:", "SEP #$30", "LDA #$80", "STA $2115", f"LDA #{h2(vram)}", "STA $2116"]
    head += [f"LDA #{h2(vram >> 8)}", "STA $2117", "LDA #$01", f"STA {_reg(n, 0)}", "LDA #$18", f"STA {_reg(n, 1)}"]
    head += [f"LDA #{h2(src)}", f"STA {_reg(n, 2)}", f"LDA #{h2(src >> 8)}", f"STA {_reg(n, 3)}"]
    head += [f"LDA #{h2(bank)}", f"STA {_reg(n, 4)}"]
    start = [f"LDA #{h2(1 << n)}", "STA $420B", "RTS"]
    buggy = d.asm([*head, f"LDA #{h2(pages)}", f"STA {_reg(n, 5)}", f"STZ {_reg(n, 6)}", *start])
    fixed = d.asm([*head, f"STZ {_reg(n, 5)}", f"LDA #{h2(pages)}", f"STA {_reg(n, 6)}", *start])
    size = pages << 8
    return Case(
        "dma_setup",
        d.pick(["DMA count bytes swapped", "byte count written to the wrong half", "length low/high mixed up"]),
        d.pick(
            [
                f"Only the first {pages} bytes of my tiles arrive in VRAM; the rest stays blank.",
                f"{name} should upload {h4(size)} bytes but only a sliver of one tile shows up.",
                "The upload is almost empty: one line of pixels and nothing else.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The byte count is little-endian: {_reg(n, 5)} takes the low byte and {_reg(n, 6)} the high byte "
                f"(on channel 0 that is $4305/$4306). {name} writes {h2(pages)} into the low byte and zero into the "
                f"high byte, so the DMA length is {h4(pages)} bytes instead of {h4(size)}.",
                f"{name} wants {h4(size)} bytes but stores the count's high byte {h2(pages)} in {_reg(n, 5)}, the "
                f"low register (like $4305 on channel 0). The DMA reads the size as {h4(pages)} and stops after "
                f"{pages} bytes.",
            ]
        ),
        (
            f"The count registers hold a 16-bit length, low byte first ({_reg(n, 5)}), high byte second.",
            f"LDA #{h2(pages)} : STA {_reg(n, 5)} and STZ {_reg(n, 6)} make the count {h4(pages)}.",
            d.pick(
                [
                    f"STA $420B copies {pages} bytes and stops; the rest of the tiles never arrive.",
                    "The transfer ends almost immediately, leaving VRAM mostly untouched.",
                ]
            ),
        ),
        d.pick(
            [
                f"STZ {_reg(n, 5)} and {h2(pages)} in {_reg(n, 6)} give the count {h4(size)}: {pages} pages of 256 "
                "bytes.",
                f"With the high byte in {_reg(n, 6)}, the DMA length matches the {h4(size)} bytes of tile data.",
            ]
        ),
        culprit=f"STA {_reg(n, 5)}",
        spec=_upload_spec(
            name,
            f"{pages} pages of tiles: low byte $00 in {_reg(n, 5)}, {h2(pages)} in {_reg(n, 6)}",
            _dma_writes(n, 0x01, 0x18, bank, src, size) | {0x2116: vram & 0xFF, 0x2117: vram >> 8},
        ),
    )


def wrong_b_bus(d: Draw) -> Case:
    """A palette DMA aimed at VMDATA ($18) instead of CGDATA ($22)."""
    n = d.int(0, 7)
    size = d.pick([0x20, 0x40, 0x80, 0x100, 0x200])
    bank, src = _rom_source(d)
    first = d.pick([0x00, 0x10, 0x20, 0x40, 0x80])
    name = d.routine()

    def code(target: str) -> str:
        lines = [f"{name}:", "REP #$10", "SEP #$20", f"LDA #{h2(first)}", "STA $2121", f"STZ {_reg(n, 0)}"]
        lines += [f"LDA #{target}", f"STA {_reg(n, 1)}", f"LDX #{h4(src)}", f"STX {_reg(n, 2)}", f"LDA #{h2(bank)}"]
        lines += [f"STA {_reg(n, 4)}", f"LDX #{h4(size)}", f"STX {_reg(n, 5)}", f"LDA #{h2(1 << n)}", "STA $420B"]
        return d.asm([*lines, "RTS"])

    return Case(
        "dma_issues",
        d.pick(["DMA aimed at the wrong B-bus register", "wrong DMA destination", "palette DMA into VRAM"]),
        d.pick(
            [
                "My palette DMA runs but the colours never change.",
                "CGRAM stays black after the upload, and some tiles get corrupted instead.",
                f"{name} is supposed to load {size // 2} colours; nothing changes on screen except random tile junk.",
            ]
        ),
        code("$18"),
        code("$22"),
        d.pick(
            [
                f"{_reg(n, 1)} sets the channel's B-bus destination to $18 (VMDATAL, VRAM), so the DMA writes the "
                "palette source into VRAM instead of CGRAM through $2122. The source, length and start are right; "
                "only the destination is wrong.",
                f"The channel {n} destination register ({_reg(n, 1)}, like $4301 on channel 0) holds $18, the VRAM "
                f"data port. A palette goes through CGDATA, $22: with $18 the whole byte count of {h4(size)} lands "
                "in VRAM.",
            ]
        ),
        (
            d.pick(
                [
                    f"LDA #{h2(first)} : STA $2121 selects colour {first} for a CGRAM upload.",
                    f"$2121 is set to colour {first}, ready for CGRAM writes.",
                ]
            ),
            d.pick(
                [
                    f"{_reg(n, 1)} = $18 points the DMA channel at the VRAM data port, not the CGRAM port.",
                    "The B-bus address $18 means $2118: VRAM.",
                ]
            ),
            "STA $420B copies the bytes to VRAM at whatever address $2116 holds; CGRAM never sees them.",
        ),
        d.pick(
            [
                "$22 targets CGDATA ($2122), so the same transfer length lands in the palette.",
                f"With {_reg(n, 1)} = $22 and mode 0 ({_reg(n, 0)} = 0), each byte goes to CGDATA in turn.",
            ]
        ),
        observe=f"the DMA log shows channel {n} writing to $2118.",
        culprit="LDA #$18",
        spec=_upload_spec(
            name,
            f"palette of {size // 2} colours from colour {first}: B-bus target $22 (CGDATA) in {_reg(n, 1)}",
            _dma_writes(n, 0x00, 0x22, bank, src, size) | {0x2121: first},
        ),
    )


def fixed_source_mode(d: Draw) -> Case:
    """DMA mode $09 (fixed source) for a tile copy: one byte repeated over the whole transfer."""
    n = d.int(0, 7)
    size = d.pick([0x400, 0x800, 0x1000, 0x200])
    vram = d.rng.randrange(0x2000, 0x7000, 0x400)
    bank, src = _rom_source(d)
    name = d.routine()

    def code(mode: str) -> str:
        lines = [f"{name}:", "REP #$10", "SEP #$20", "LDA #$80", "STA $2115", f"LDX #{h4(vram)}", "STX $2116"]
        lines += [f"LDA #{mode}", f"STA {_reg(n, 0)}", "LDA #$18", f"STA {_reg(n, 1)}", f"LDX #{h4(src)}"]
        lines += [f"STX {_reg(n, 2)}", f"LDA #{h2(bank)}", f"STA {_reg(n, 4)}", f"LDX #{h4(size)}"]
        return d.asm([*lines, f"STX {_reg(n, 5)}", f"LDA #{h2(1 << n)}", "STA $420B", "RTS"])

    return Case(
        "dma_issues",
        d.pick(["fixed-source DMA mode", "DMA source address never advances", "wrong DMA control byte"]),
        d.pick(
            [
                f"My {h4(size)}-byte tile upload turns every tile into the same solid pattern.",
                "All the new graphics come out as one repeated byte.",
                f"The tiles at VRAM {h4(vram)} are filled with stripes instead of my graphics.",
            ]
        ),
        code("$09"),
        code("$01"),
        d.pick(
            [
                f"The control byte in {_reg(n, 0)} ($4300 on channel 0) is $09: bit 3 makes the DMA source fixed, "
                f"so the channel reads the same byte at ${bank:02X}:{src:04X} for the whole length and writes it to "
                "VRAM over and over. A fixed source is for fills, not copies.",
                f"{name} sets DMA mode $09, which combines the two-register VRAM transfer with a fixed source "
                "address: the source never increments, so for the whole transfer length every destination byte gets "
                "the first source byte.",
            ]
        ),
        (
            f"{_reg(n, 0)} = $09: transfer mode 1 ($2118/$2119) plus the fixed-address bit.",
            d.pick(
                [
                    "The channel never advances its source pointer during the transfer.",
                    f"Every read comes from ${bank:02X}:{src:04X}.",
                ]
            ),
            f"STA $420B fills {h4(size)} bytes of VRAM with that one value.",
        ),
        d.pick(
            [
                f"$01 keeps transfer mode 1 and lets the source increment, so {_reg(n, 2)} walks through the tiles.",
                "Clearing bit 3 of the control byte makes the DMA copy the data instead of repeating it.",
            ]
        ),
        culprit="LDA #$09",
        spec=_upload_spec(
            name,
            f"tile copy: {_reg(n, 0)} = $01 (mode 1, source increments), not the fixed-source bit",
            _dma_writes(n, 0x01, 0x18, bank, src, size) | {0x2116: vram & 0xFF, 0x2117: vram >> 8},
        ),
    )


def shared_hdma_channel(d: Draw) -> Case:
    """A VRAM DMA in NMI on the channel the HDMA effect uses."""
    n = d.int(1, 7)
    other = d.pick([c for c in range(8) if c != n])
    table = 0x7F0000 + d.rng.randrange(0x5000, 0x7000, 0x100)
    target = d.pick([("$0D", "BG1HOFS"), ("$0F", "BG2HOFS"), ("$11", "BG3HOFS"), ("$26", "WH0")])
    vram, (bank, src) = d.rng.randrange(0x1000, 0x7000, 0x400), _rom_source(d)
    setup, upload = d.routines(2)
    hdma_mode = 0x02 if target[0] != "$26" else 0x00
    hdma = [f"{setup}:", "SEP #$20", "REP #$10", f"LDA #{h2(hdma_mode)}"]
    hdma += [f"STA {_reg(n, 0)}", f"LDA #{target[0]}", f"STA {_reg(n, 1)}", f"LDX #{h4(table)}"]
    hdma += [f"STX {_reg(n, 2)}", f"LDA #{h2(table >> 16)}", f"STA {_reg(n, 4)}", f"LDA #{h2(1 << n)}", "STA $420C"]
    hdma.append("RTS")

    def dma(ch: int) -> list[str]:
        lines = [
            f"{upload}:",
            "REP #$10",
            "SEP #$20",
            f"LDX #{h4(vram)}",
            "STX $2116",
            "LDA #$01",
            f"STA {_reg(ch, 0)}",
        ]
        lines.append("LDA #$18")
        lines += [f"STA {_reg(ch, 1)}", f"LDX #{h4(src)}", f"STX {_reg(ch, 2)}", f"LDA #{h2(bank)}"]
        lines += [f"STA {_reg(ch, 4)}", "LDX #$0200", f"STX {_reg(ch, 5)}", f"LDA #{h2(1 << ch)}", "STA $420B"]
        return [*lines, "RTS"]

    return Case(
        "hdma_corruption",
        d.pick(["DMA and HDMA share a channel", "HDMA channel reused for a DMA", "channel conflict"]),
        d.pick(
            [
                f"My {target[1]} wave effect glitches every frame {upload} uploads something.",
                "The HDMA effect works until the first VRAM upload, then the screen tears.",
                f"As soon as {upload} runs in NMI, the HDMA lines go crazy.",
            ]
        ),
        d.asm([*hdma, *dma(n)]),
        d.asm([*hdma, *dma(other)]),
        d.pick(
            [
                f"{setup} runs the HDMA effect on channel {n} (bit {h2(1 << n)} in $420C), and {upload} uses the "
                f"same channel {n} for a general-purpose DMA. The DMA overwrites {_reg(n, 0)}-{_reg(n, 5)}: the HDMA "
                "table address, mode and destination are gone, and the table is read from the wrong place.",
                f"A channel enabled in $420C belongs to HDMA for the whole frame. {upload} reprograms channel {n} "
                f"for its VRAM DMA, so the HDMA setup ({target[1]} target, table at ${table:06X}) is corrupted.",
            ]
        ),
        (
            f"{setup} points channel {n} at {target[1]} with its table at ${table:06X} and enables it in $420C.",
            d.pick(
                [
                    f"{upload} writes {_reg(n, 0)}, {_reg(n, 1)} and {_reg(n, 2)} for a VRAM DMA.",
                    f"The DMA in {upload} reuses channel {n} and changes its registers.",
                ]
            ),
            d.pick(
                [
                    "At the next frame the HDMA channel starts from a VRAM-transfer setup and writes garbage.",
                    "HDMA now reads the tile source as its table and aims it at VMDATA.",
                ]
            ),
        ),
        d.pick(
            [
                f"Channel {other} is not enabled in $420C, so the DMA can use it without touching the HDMA setup.",
                f"Giving the DMA its own channel ({other}) keeps channel {n} for HDMA alone.",
            ]
        ),
        culprit=f"STA {_reg(n, 0)}",
        spec=BehaviourSpec(
            upload,
            "jsr",
            (
                Scenario(
                    f"{setup}: channel {n} set up for HDMA to {target[1]} and enabled in $420C",
                    flags=dict(_ENTRY),
                    entry=setup,
                    expect_io={
                        _port(n, 0): hdma_mode,
                        _port(n, 1): int(target[0][1:], 16),
                        _port(n, 4): table >> 16,
                        0x420C: 1 << n,
                    },
                ),
                Scenario(
                    f"{upload} in NMI: its DMA must leave HDMA channel {n}'s registers alone",
                    flags=dict(_ENTRY),
                    expect_io={0x2116: vram & 0xFF, 0x2117: vram >> 8},
                    io_unwritten=tuple(_port(n, low) for low in range(0xB)),
                    properties=("returns", "stack_balanced"),
                ),
            ),
        ),
    )


def _hdma_frame(label: str, target: int, set_bytes: int) -> str:
    """One frame of HDMA over ``label``, in 65816 (the interpreter has no HDMA): read a line count ($00 ends
    the table, bit 7 = repeat, one set of values per line), write the set(s) to ``$21<target>``, stop at
    224 lines like the frame does; the lines covered are left at $7E1F04."""
    write = [f"LDA.l {label},X", "INX", f"STA $21{target:02X}"] * set_bytes
    lines = ["PHP", "SEP #$20", "REP #$10", "LDX #$0000", "TXY", ".entry", "CPY #$00E0", "BCS .done"]
    lines += [f"LDA.l {label},X", "BEQ .done", "INX", "STA.l $7E1F02", "AND #$7F", "BNE .lines", "LDA #$80"]
    lines += [".lines", "STA.l $7E1F00", "LDA #$00", "STA.l $7E1F01", "REP #$20", "TYA", "CLC", "ADC.l $7E1F00"]
    lines += ["TAY", "SEP #$20", "LDA.l $7E1F02", "BMI .set", "LDA #$01", "STA.l $7E1F00", ".set", *write]
    lines += ["LDA.l $7E1F00", "DEC A", "STA.l $7E1F00", "BNE .set", "BRA .entry"]
    lines += [".done", "REP #$20", "TYA", "STA.l $7E1F04", "PLP", "RTS"]
    return "\n".join(lines)


def hdma_table_unterminated(d: Draw) -> Case:
    """An HDMA table without the $00 terminator: HDMA runs on into whatever follows.

    The rows cover fewer than 224 lines (a table that fills the frame needs no terminator), and the table
    is followed by more of the bank - a routine or a palette - whose bytes the channel reads as entries.
    """
    n = d.int(1, 7)
    setup = d.routine()
    label = d.pick(["WaveTable", "ScrollTable", "HdmaGradient", "ColorBars", "SplitTable"])
    target = d.pick([("$0D", "BG1HOFS"), ("$0F", "BG2HOFS"), ("$32", "COLDATA")])
    mode = "$02" if target[0] != "$32" else "$00"
    code = [f"{setup}:", "SEP #$20", "REP #$10", f"LDA #{mode}", f"STA {_reg(n, 0)}", f"LDA #{target[0]}"]
    code += [f"STA {_reg(n, 1)}", f"LDX.w #{label}", f"STX {_reg(n, 2)}", f"LDA.b #{label}>>16", f"STA {_reg(n, 4)}"]
    code += [f"LDA #{h2(1 << n)}", "STA $420C", "RTS", f"{label}:"]
    rows, counts, last = [], [], 0
    for _ in range(d.int(2, 4)):
        lines = d.int(0x08, 0x30)
        counts.append(lines)
        if mode == "$02":
            rows.append(f"db {h2(lines)},{h2(d.int(0, 0x20))},$00")
            last = 0x00
        else:
            last = 0xE0 | d.int(0, 0x1F)
            rows.append(f"db {h2(lines)},{h2(last)}")
    after = d.routine()
    follow, what = d.pick(
        [
            (
                [f"{after}:", "PHP", "SEP #$20", f"LDA #{h2(d.int(0x01, 0x0F))}", "STA $2100", "PLP", "RTS"],
                f"the code of {after}",
            ),
            (
                [f"{after}:", "REP #$20", f"LDA #{h4(d.int(0x1000, 0x7FFF))}", "STA $2116", "SEP #$20", "RTS"],
                f"the code of {after}",
            ),
            (
                [f"{label}Palette:", "dw " + ",".join(h4(d.int(0x0001, 0x7FFF) | 0x0101) for _ in range(4))],
                f"{label}Palette",
            ),
        ]
    )
    register = int(target[0][1:], 16)
    model = "HdmaFrameModel"
    spec = BehaviourSpec(
        setup,
        "jsr",
        (
            Scenario(
                f"{setup}: channel {n} in HDMA mode {mode} to {target[1]}, enabled in $420C",
                flags=dict(_ENTRY),
                expect_io={_port(n, 0): int(mode[1:], 16), _port(n, 1): register, 0x420C: 1 << n},
            ),
            Scenario(
                f"a frame of HDMA over {label}: it stops after its {len(rows)} entries ({sum(counts)} lines)",
                entry=model,
                flags=dict(_ENTRY),
                expect_memory={0x7E1F04: sum(counts).to_bytes(2, "little")},
                expect_io={0x2100 | register: last},
                properties=("returns", "stack_balanced"),
            ),
        ),
        stubs={model: _hdma_frame(label, register, 2 if mode == "$02" else 1)},
    )
    return Case(
        "hdma_corruption",
        d.pick(["HDMA table missing its terminator", "no $00 at the end of the HDMA table", "runaway HDMA table"]),
        d.pick(
            [
                f"The top of my {target[1]} effect looks right, the bottom of the screen is garbage.",
                "Below the last line of my table the screen flickers with random values.",
                f"{label} has {len(rows)} entries but the effect keeps going past them.",
            ]
        ),
        d.asm([*code, *rows, *follow]),
        d.asm([*code, *rows, "db $00", *follow]),
        d.pick(
            [
                f"{label} has no terminating $00 line count, so HDMA channel {n} keeps reading past its last entry: "
                f"the bytes after the table ({what}) become more line counts and values, and the HDMA writes them to "
                f"{target[1]} for the rest of the frame.",
                "An HDMA table ends with a $00 byte; without it the channel treats whatever follows as table "
                f"entries. {setup} enables channel {n} in $420C with {label}, which is followed by {what}: the "
                "channel runs on into it and stops only where the data happens to contain a zero.",
            ]
        ),
        (
            f"HDMA is the per-scanline mode of a DMA channel: each entry of {label} is a line count followed by the "
            f"value(s) for {target[1]}; its {len(rows)} entries cover {sum(counts)} of the 224 lines.",
            d.pick(
                [
                    f"After the last entry the HDMA reads the next byte, the start of {what}, as another line count.",
                    "Nothing tells the channel the table is over, so it keeps fetching.",
                ]
            ),
            f"Those bytes are written to {target[1]} as if they were part of the table, corrupting the lower screen.",
        ),
        d.pick(
            [
                "db $00 ends the table: HDMA stops for this channel until the next frame restarts it.",
                f"The terminating zero makes channel {n} stop after the last real entry.",
            ]
        ),
        observe="the HDMA viewer shows the channel still active below the last table entry.",
        spec=spec,
    )


# Where this family's templates stand in the generator's list: proposals depend on the order (seeded draws).
FAMILY_ORDER = 30
TEMPLATES = (
    count_never_set,
    count_bytes_swapped,
    wrong_b_bus,
    fixed_source_mode,
    shared_hdma_channel,
    hdma_table_unterminated,
)

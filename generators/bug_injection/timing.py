"""Timing: PPU access outside VBlank, hardware registers read before they are ready, and races
between the main loop and the NMI handler."""

from __future__ import annotations

from curation.asm.behaviour import BehaviourSpec, Scenario
from generators.bug_injection.case import Case
from generators.draw import Draw, h2, h4

# The interpreter counts no cycles and fires no interrupts. A spec stands in for time with what the fix
# makes observable: $4212 as the PPU/joypad status a wait polls (a wait that never ends is a run that
# stops on its instruction budget, with no return expected), and - for the races - a small instruction
# budget: the run stops where the NMI (or the math unit) would cut in, and the state there is checked.
_ENTRY = {"m8": True, "x8": True}  # ALttP's usual 8-bit A and X/Y on the way in
_VBLANK, _DRAWING = 0x80, 0x00  # $4212 (HVBJOY) bit 7: in VBlank


def _tilemap_writes(d: Draw) -> tuple[int, list[int], list[str]]:
    """A 16-bit VRAM address and a few words written through $2118/$2119."""
    vram = d.rng.randrange(0x0000, 0x8000, 0x20) | d.int(0, 0x1F)
    lines = ["REP #$20", f"LDA #{h4(vram)}", "STA $2116"]
    words = []
    for _ in range(d.int(2, 4)):
        words.append(d.int(0x0000, 0x3FFF))
        lines += [f"LDA #{h4(words[-1])}", "STA $2118"]
    return vram, words, [*lines, "SEP #$20"]


def _vblank_spec(name: str, vram: int, words: list[int]) -> BehaviourSpec:
    """VRAM data writes only once $4212 says VBlank: while the PPU draws, $2118/$2119 stay untouched
    (the wait never ends there, so no return is expected); in VBlank the words land and the routine returns."""
    return BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                "called mid-frame: $4212 bit 7 clear, the PPU is drawing",
                flags=dict(_ENTRY),
                io={0x4212: _DRAWING},
                io_unwritten=(0x2118, 0x2119),
                properties=(),
            ),
            Scenario(
                "called in VBlank: $4212 bit 7 set",
                flags=dict(_ENTRY),
                io={0x4212: _VBLANK},
                expect_io={
                    0x2115: 0x80,
                    0x2116: vram & 0xFF,
                    0x2117: vram >> 8,
                    0x2118: words[-1] & 0xFF,
                    0x2119: words[-1] >> 8,
                },
                properties=("returns", "stack_balanced"),
            ),
        ),
    )


def vram_write_without_wait(d: Draw) -> Case:
    """Tilemap writes straight from the main loop while the screen is on."""
    name = d.routine()
    vram, words, writes = _tilemap_writes(d)
    head = [f"{name}:", "SEP #$20", "LDA #$80", "STA $2115"]
    wait = ["-", "LDA $4212", "BPL -"]
    buggy = d.asm([*head, *writes, "RTS"])
    fixed = d.asm([*head, *wait, *writes, "RTS"])
    return Case(
        "vblank_timing",
        d.pick(["VRAM written during active display", "no wait for VBlank", "PPU write outside VBlank"]),
        d.pick(
            [
                f"{name} should change a few tiles at VRAM {h4(vram)}, but sometimes they don't change at all.",
                "The tiles I write show up in the wrong place, or not at all, depending on the frame.",
                "On real hardware the tilemap update is flaky; in some emulators it works.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} writes VRAM through $2118 while the PPU is drawing the screen. Outside VBlank (or forced "
                "blank) the PPU ignores VRAM writes, so whether the tiles arrive depends on the timing of the call; "
                "the routine never waits for VBlank via $4212.",
                "VRAM is only writable during VBlank or forced blank. The routine runs from the main loop at any "
                f"scanline and stores to $2118 at once, so most writes to {h4(vram)} are dropped by the PPU.",
                f"The PPU only accepts VRAM writes during VBlank or forced blank, and {name} never checks: it sets "
                f"$2116 to {h4(vram)} and writes $2118 whenever the main loop gets there. Without a wait on $4212 "
                "(or a queue the NMI uploads), the timing decides whether a word lands.",
            ]
        ),
        (
            d.pick(
                [
                    "The main loop runs during active display most of the frame.",
                    f"{name} is called whenever the game logic decides, not in VBlank.",
                ]
            ),
            d.pick(
                [
                    "$2118 writes during rendering are ignored by the PPU, though the address still increments.",
                    "The PPU owns VRAM while it draws; CPU writes then are lost.",
                ]
            ),
            "Nothing checks $4212 bit 7 (the VBlank flag) before the writes.",
        ),
        d.pick(
            [
                "Polling $4212 until bit 7 is set (BPL loops while it is clear) makes the writes wait for VBlank. "
                "For more than a few words, queue them and let the NMI handler upload them.",
                "The wait loop on $4212 holds the routine until VBlank starts, when the PPU accepts VRAM writes.",
            ]
        ),
        observe="the VRAM viewer shows the tiles unchanged on most frames.",
        spec=_vblank_spec(name, vram, words),
    )


def vblank_wait_inverted(d: Draw) -> Case:
    """The VBlank wait loop tests the flag the wrong way round."""
    name = d.routine()
    vram, words, writes = _tilemap_writes(d)
    label = d.pick(["-", ".wait", ".vblank", ".poll"])
    head = [f"{name}:", "SEP #$20", "LDA #$80", "STA $2115", label, "LDA $4212"]
    branch_target = label
    buggy = d.asm([*head, f"BMI {branch_target}", *writes, "RTS"])
    fixed = d.asm([*head, f"BPL {branch_target}", *writes, "RTS"])
    return Case(
        "vblank_timing",
        d.pick(["VBlank wait inverted", "wait loop exits at the wrong time", "BMI instead of BPL on $4212"]),
        d.pick(
            [
                f"I wait for VBlank before writing VRAM {h4(vram)}, and the tiles still get corrupted.",
                "Even with a VBlank wait, my tilemap writes are hit or miss.",
                f"{name} waits, but apparently at the wrong moment.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                "Bit 7 of $4212 (HVBJOY) is set during VBlank, which LDA puts in the N flag. BMI loops while the bit "
                "is set, so the wait ends when VBlank ends: the VRAM writes then run during active display, when the "
                "PPU ignores them.",
                f"The wait in {name} is inverted: LDA $4212 / BMI keeps looping while the VBlank flag is set and "
                "falls through as soon as it clears, so the timing is exactly wrong for the VRAM writes.",
                f"{name} does wait, but for the end of VBlank instead of its start: BMI loops while HVBJOY bit 7 "
                "is set. The tilemap writes to $2118 therefore start on the first scanline of active display, when "
                "the PPU drops them.",
            ]
        ),
        (
            "LDA $4212 copies bit 7 (in VBlank) into the N flag.",
            d.pick(
                [
                    "BMI branches back while N is set, i.e. while the CPU is in VBlank.",
                    "Outside VBlank the loop falls through immediately.",
                ]
            ),
            "The writes to $2118 then happen while the PPU is drawing, and are lost.",
        ),
        d.pick(
            [
                "BPL loops while bit 7 is clear and falls through when VBlank starts, so the writes wait for VBlank.",
                "With BPL the wait ends at the start of VBlank, the window in which VRAM accepts writes.",
            ]
        ),
        culprit=f"BMI {branch_target}",
        spec=_vblank_spec(name, vram, words),
    )


def joypad_read_too_early(d: Draw) -> Case:
    """$4218 read at the start of NMI, before auto-joypad read has finished."""
    name = d.routine()
    copy = d.scratch(even=True) | 0xF0
    pad, which = d.pick([("$4218", "joypad 1"), ("$421A", "joypad 2")])
    buggy_tail = ["REP #$20", f"LDA {pad}"]
    pressed = None
    if d.chance(0.5):  # new presses: changed bits that are down now (the held copy is on the stack)
        pressed = d.free_ram(wide=True)
        buggy_tail += ["PHA", f"EOR {h2(copy)}", "AND $01,S", f"STA {pressed.long}", "PLA"]
    buggy_tail += [f"STA {h2(copy)}", "SEP #$20", "RTS"]
    if d.chance(0.5):
        wait = ["SEP #$20", "-", "LDA $4212", "AND #$01", "BNE -"]
    else:
        wait = ["SEP #$20", "-", "LDA $4212", "LSR A", "BCS -"]
    buggy = d.asm([f"{name}:", *buggy_tail])
    fixed = d.asm([f"{name}:", *wait, *buggy_tail])
    port = int(pad[1:], 16)
    held, buttons, shifting = 0x0100, 0x8180, 0x4060  # Right held; now B, A and Right; a half-shifted mask
    before = {0x7E0000 | copy: held.to_bytes(2, "little")}
    if pressed is not None:
        before[pressed.address] = bytes(2)
    done = {0x7E0000 | copy: buttons.to_bytes(2, "little")}
    if pressed is not None:
        done[pressed.address] = ((buttons ^ held) & buttons).to_bytes(2, "little")
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"top of the NMI: auto-joypad read still running ($4212 = $81), {pad} half shifted",
                flags=dict(_ENTRY),
                memory=dict(before),
                io={0x4212: 0x81, port: shifting & 0xFF, port + 1: shifting >> 8},
                expect_memory=dict(before),
                properties=(),
            ),
            Scenario(
                f"auto-joypad read finished ($4212 = $80): {pad} holds this frame's buttons",
                flags=dict(_ENTRY),
                memory=dict(before),
                io={0x4212: 0x80, port: buttons & 0xFF, port + 1: buttons >> 8},
                expect_memory=done,
                properties=("returns", "stack_balanced"),
            ),
        ),
    )
    return Case(
        "timing_issues",
        d.pick(["joypad read before auto-read finishes", f"reading {pad} too early", "auto-joypad timing"]),
        d.pick(
            [
                "Button presses are dropped now and then, and sometimes the wrong button registers.",
                f"{name} copies the pad to {h2(copy)}, but inputs feel laggy and random.",
                "Holding a direction occasionally reads as nothing for a frame.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} runs at the start of the NMI, when VBlank has just begun, and reads {pad} straight away. "
                "Auto-joypad read starts at VBlank and takes about three scanlines; the code has to wait until bit 0 "
                "of $4212 clears, since until then the "
                "register still holds a partly shifted value.",
                f"The joypad register {pad} is filled by the auto-read that starts with VBlank. Reading it at the very "
                f"top of the NMI is a timing race: {name} has to wait for $4212 bit 0 to clear first.",
            ]
        ),
        (
            "VBlank starts the NMI and the automatic joypad read at the same time.",
            d.pick(
                [
                    f"The auto-read shifts the {which} bits into {pad} over roughly 4224 master cycles.",
                    f"For about three scanlines {pad} is incomplete.",
                ]
            ),
            d.pick(
                [
                    f"LDA {pad} reads it mid-shift and {h2(copy)} gets a wrong button mask.",
                    "The copy is taken before the register is final.",
                ]
            ),
        ),
        d.pick(
            [
                "Waiting while $4212 bit 0 (auto-joypad busy) is set makes the read happen after the register is "
                "complete.",
                f"The wait loop on bit 0 waits out the auto-read, then {pad} holds this frame's buttons.",
            ]
        ),
        culprit=f"LDA {pad}",
        spec=spec,
    )


def math_result_too_early(d: Draw) -> Case:
    """Reading the multiply/divide result before the hardware has finished."""
    name = d.routine()
    out = d.low_ram(wide=True)
    a, b = d.int(2, 0xFF), d.int(2, 0xFF)
    multiply = d.chance(0.5)
    if multiply:
        setup = ["SEP #$20", f"LDA #{h2(a)}", "STA $4202", f"LDA #{h2(b)}", "STA $4203"]
        nops, result, op, cycles = 4, "$4216", "multiply", 8
    else:
        setup = ["REP #$20", f"LDA #{h4(a * 0x40)}", "STA $4204", "SEP #$20", f"LDA #{h2(b)}", "STA $4206"]
        nops, result, op, cycles = 8, "$4214", "divide", 16
    high = f"${(int(result[1:], 16) + 1):04X}"
    out_high = f"${(out.address + 1) & 0xFFFF:04X}"
    tail = [f"LDA {result}", f"STA {out.absolute}", f"LDA {high}", f"STA {out_high}", "RTS"]
    buggy = d.asm([f"{name}:", *setup, *tail])
    fixed = d.asm([f"{name}:", *setup, *(["NOP"] * nops), *tail])
    value = a * b if multiply else (a * 0x40) // b
    start = "$4203" if multiply else "$4206"
    stale = (value ^ 0xFFFF).to_bytes(2, "little")  # the last call's result, unlike this one's in both bytes
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"the run stops {cycles} cycles ({nops} two-cycle instructions) after the write to {start}, while "
                f"the {op} is still running: nothing may have read {result} into {out.absolute} yet",
                flags=dict(_ENTRY),
                memory={out.address: stale},
                io={int(result[1:], 16): value & 0xFF, int(high[1:], 16): value >> 8},
                expect_memory={out.address: stale},
                expect_io={0x4202: a, 0x4203: b} if multiply else {0x4204: a * 0x40 & 0xFF, 0x4205: a >> 2, 0x4206: b},
                properties=(),
            ),
        ),
        max_instructions=len(setup) + nops,
    )
    return Case(
        "timing_issues",
        d.pick([f"{op} result read too early", f"not waiting for the hardware {op}", "math register timing"]),
        d.pick(
            [
                f"{name} stores the wrong {op} result to {out.absolute}, but only in the real console and accurate "
                "emulators.",
                f"The result of my {op} is off, it looks like a partial value.",
                f"bsnes gives a different {op} result than the calculator.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The hardware {op} needs {cycles} CPU cycles after the write to "
                f"{'$4203' if multiply else '$4206'} before {result} is valid. {name} reads the register right "
                "away, so it sees a partial result. This is not a VBlank or PPU matter: the math unit is a CPU-side "
                "register with its own timing.",
                f"{name} starts the {op} and reads {result} on the next instruction, a few cycles too early. The "
                f"result register needs {cycles} cycles to settle; it has nothing to do with VBlank, only with the "
                "wait after the last write.",
            ]
        ),
        (
            f"Writing {'$4203' if multiply else '$4206'} starts the {op}.",
            f"The result register {result} is only complete after {cycles} cycles.",
            d.pick(
                [
                    f"LDA {result} executes within about 4 cycles and reads an intermediate value.",
                    "The read lands before the unit has finished.",
                ]
            ),
        ),
        d.pick(
            [
                f"{nops} NOPs take {nops * 2} cycles, enough for the {op} to finish; any useful instructions of the "
                "same length would do.",
                f"Waiting {cycles} cycles (the NOPs) before the read gives the hardware time to finish.",
            ]
        ),
        culprit=f"LDA {result}",
        spec=spec,
    )


def ready_flag_set_first(d: Draw) -> Case:
    """The main loop marks a buffer ready for the NMI before filling it."""
    fill, nmi = d.routines(2)
    ready = d.free_ram()
    buf = 0x7F0000 + d.rng.randrange(0x5000, 0x7000, 0x40)
    src = d.sprite_table()
    size = d.pick([0x0F, 0x1F, 0x0B, 0x07])
    while buf <= ready.address <= buf + size:  # the flag must not sit inside the buffer it guards
        ready = d.free_ram()
    loop, none = d.loop_label(), d.exit_label()
    flag = ["LDA #$01", f"STA {ready.long}"]
    body = [f"LDX #{h2(size)}", loop, f"LDA {src.absolute},X", f"STA ${buf:06X},X", "DEX", f"BPL {loop}"]
    nmi_code = [f"{nmi}:", f"LDA {ready.long}", f"BEQ {none}", f"JSR {nmi}_Upload", "LDA #$00", f"STA {ready.long}"]
    nmi_code += [none, "RTS"]
    buggy = d.asm([f"{fill}:", "SEP #$30", *flag, *body, "RTS", *nmi_code])
    fixed = d.asm([f"{fill}:", "SEP #$30", *body, *flag, "RTS", *nmi_code])
    half = (size + 1) // 2
    marker = 0x7E1F80  # the upload stub leaves $01 here, so a scenario sees whether the NMI uploaded
    data = bytes(range(0x11, 0x11 + size + 1))
    spec = BehaviourSpec(
        fill,
        "jsr",
        (
            Scenario(
                f"the NMI arrives mid-copy, {half} of {size + 1} bytes in (the run stops there): the flag at "
                f"{ready.long} must still say not ready",
                flags=dict(_ENTRY),
                memory={ready.address: b"\x00", src.address: data},
                expect_memory={ready.address: b"\x00"},
                properties=(),
            ),
            Scenario(
                f"{nmi} with the buffer ready: it uploads and clears the flag",
                entry=nmi,
                flags=dict(_ENTRY),
                memory={ready.address: b"\x01"},
                expect_memory={ready.address: b"\x00", marker: b"\x01"},
                properties=("returns", "stack_balanced"),
            ),
            Scenario(
                f"{nmi} with nothing ready: no upload",
                entry=nmi,
                flags=dict(_ENTRY),
                memory={ready.address: b"\x00"},
                expect_memory={ready.address: b"\x00", marker: b"\x00"},
                properties=("returns", "stack_balanced"),
            ),
        ),
        stubs={f"{nmi}_Upload": f"PHP\nSEP #$20\nLDA #$01\nSTA.l ${marker:06X}\nPLP\nRTS"},
        max_instructions=2 + 4 * half,  # SEP, LDX, then LDA/STA/DEX/BPL per byte
    )
    return Case(
        "nmi_race",
        d.pick(
            ["ready flag set before the buffer is filled", "NMI race on the upload buffer", "flag raised too early"]
        ),
        d.pick(
            [
                "Now and then one frame shows half-old, half-new data.",
                f"The buffer at ${buf:06X} uploads fine most frames, but sometimes garbage flashes for a frame.",
                "Rarely, the sprites drawn from the upload flicker with stale values.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{fill} sets the ready flag at {ready.long} before it copies the data. If the NMI (VBlank) arrives "
                f"during the copy loop, {nmi} sees the flag, uploads a half-filled buffer and clears it: a race "
                "between the main loop and the interrupt.",
                "The flag that hands the buffer to the NMI is raised first and the buffer written afterwards. "
                f"The interrupt can fire between the two, so {nmi} uploads during VBlank data the main loop has not "
                "finished writing.",
            ]
        ),
        (
            f"{fill} stores $01 to {ready.long} first.",
            d.pick(
                [
                    "The NMI can fire at any instruction of the copy loop.",
                    "VBlank arrives mid-copy on some frames.",
                ]
            ),
            f"{nmi} sees the flag, uploads ${buf:06X} half updated and clears the flag, so the rest waits a frame.",
        ),
        d.pick(
            [
                "Setting the flag as the last step publishes the buffer only when it is complete; the NMI either "
                "sees the old, whole buffer or the new, whole one.",
                "Filling the buffer first and raising the flag last closes the race without disabling interrupts.",
            ]
        ),
        culprit=f"STA {ready.long}",
        spec=spec,
    )


def torn_16bit_read(d: Draw) -> Case:
    """A 16-bit counter the NMI increments, read by the main loop as two 8-bit halves."""
    name = d.routine()
    counter = d.low_ram(wide=True)
    dest = d.scratch(even=True)
    hi = f"${(counter.address + 1) & 0xFFFF:04X}"
    buggy = d.asm(
        [
            f"{name}:",
            "SEP #$20",
            f"LDA {counter.absolute}",
            f"STA {h2(dest)}",
            f"LDA {hi}",
            f"STA {h2(dest + 1)}",
            "RTS",
        ]
    )
    fixed = d.asm([f"{name}:", "REP #$20", f"LDA {counter.absolute}", f"STA {h2(dest)}", "SEP #$20", "RTS"])
    spec = BehaviourSpec(
        name,
        "jsr",
        tuple(
            Scenario(
                f"counter ${word:04X}: the NMI cuts in right after the first load (the run stops there), so by "
                "then the whole word must be read",
                flags=dict(_ENTRY),
                memory={counter.address: word.to_bytes(2, "little")},
                expect_registers={"a": word},
                properties=(),
            )
            for word in (0x12FF, 0x3A00)
        ),
        max_instructions=2,  # the width switch and the (first) load
    )
    return Case(
        "nmi_race",
        d.pick(["torn read of an NMI counter", "16-bit value read in two halves", "race with the NMI's increment"]),
        d.pick(
            [
                f"The frame timer I copy in {name} sometimes jumps ahead by 256 for one frame.",
                f"Once in a while {h2(dest)}/{h2(dest + 1)} hold a value that is way off, then it's fine again.",
                "My timer display glitches to a weird number every few minutes.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The NMI increments the word at {counter.absolute} every VBlank, and {name} reads it as two 8-bit "
                "loads. If the interrupt fires between them while the low byte rolls over ($xxFF -> $xx00), the main "
                "loop combines the old low byte with the new high byte: a race that needs no flag or wait to fix.",
                f"{name} copies a 16-bit counter the NMI handler updates, one byte at a time. An interrupt between "
                "the two LDAs (at VBlank) changes the value mid-read, so the halves come from different frames; no "
                "flag "
                "or wait loop is needed, only a read that cannot be split.",
            ]
        ),
        (
            f"LDA {counter.absolute} reads the low byte, say $FF.",
            "The NMI fires and increments the word, carrying into the high byte.",
            f"LDA {hi} reads the new high byte: the copy is off by 256.",
        ),
        d.pick(
            [
                "A single 16-bit LDA reads both bytes in one instruction, and an interrupt never splits an "
                "instruction.",
                "With REP #$20 the counter is read atomically, so the NMI sees either the old word or the new one.",
            ]
        ),
        culprit=f"LDA {hi}",
        spec=spec,
    )


# Where this family's templates stand in the generator's list: proposals depend on the order (seeded draws).
FAMILY_ORDER = 40
TEMPLATES = (
    vram_write_without_wait,
    vblank_wait_inverted,
    joypad_read_too_early,
    math_result_too_early,
    ready_flag_set_first,
    torn_16bit_read,
)

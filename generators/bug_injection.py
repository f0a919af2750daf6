"""``bug_injection``: correct 65816 idioms with one planted bug, written up diagnosis-first.

Each case takes a working idiom (DMA upload, mode switch, stack frame, long call, block move...),
injects one bug of its category, and writes the dialogue the field trains on: a user turn with the
buggy code and a symptom, and an answer with **Bug**, a diagnosis tied to that code, numbered
**What's happening** steps and a **Fix** whose code assembles. Addresses, values, label names and
wording are drawn from a seeded RNG, so the same seed gives the same proposals and 500 proposals
are all different. Both the buggy and the fixed code assemble with Asar (these are logic bugs,
which is what an assembler cannot catch); the fix always differs from the bug.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from generators.base import Generator, register
from schemas.sample import Kind, SampleRevision

NAMES = [
    "UpdateHud",
    "DrawTimer",
    "LoadRoom",
    "SpawnGuard",
    "ReadPad",
    "FadeIn",
    "CopyTiles",
    "TickClock",
    "ApplyDamage",
    "SaveFlags",
    "PlaySfx",
    "ScrollBg",
    "InitOam",
    "CheckKey",
    "OpenChest",
    "MoveBlock",
]
INTROS = [
    "Can you look at this routine?",
    "I'm stuck on this code from my ROM hack.",
    "This is part of my ALTTP hack.",
    "Something is off in this routine.",
    "Debugging this for hours:",
]


@dataclass(frozen=True)
class Case:
    category: str
    title: str
    symptom: str
    buggy: str
    fixed: str
    diagnosis: str
    steps: tuple[str, str, str]
    why: str


def _name(rng: random.Random) -> str:
    return f"{rng.choice(NAMES)}{rng.randint(1, 99)}"


def _wram(rng: random.Random) -> str:
    return f"$7E{rng.randrange(0x2000, 0xFFFF):04X}"


def _dp(rng: random.Random) -> str:
    return f"${rng.randrange(0x10, 0xF0, 2):02X}"


def mode_mismatch(rng: random.Random) -> Case:
    name, value, dest = _name(rng), rng.randrange(0x100, 0xFFFF), _wram(rng)
    return Case(
        "mode_mismatch",
        rng.choice(["16-bit/8-bit mode mismatch", "accumulator size mismatch"]),
        rng.choice(
            [
                f"After {name} the next LDA eats an opcode and the game crashes.",
                f"{name} works once, then the code after it runs garbage.",
            ]
        ),
        f"{name}:\n    REP #$20\n    LDA #${value:04X}\n    STA {dest}\n    RTS",
        f"{name}:\n    REP #$20\n    LDA #${value:04X}\n    STA {dest}\n    SEP #$20\n    RTS",
        f"{name} switches the accumulator to 16-bit mode with REP #$20 and returns without SEP #$20, so the "
        f"caller keeps running with the wrong accumulator size and its 8-bit immediates are decoded as 16-bit.",
        (
            "REP #$20 clears the M flag, so A is 16-bit inside the routine.",
            "RTS returns with M still clear; nothing restores the caller's 8-bit mode.",
            "The caller's LDA #$xx was assembled for 8-bit A, so the CPU reads one byte too many and runs garbage.",
        ),
        "SEP #$20 puts A back to 8-bit before RTS, so the caller's width matches how its code was assembled.",
    )


def missing_sep(rng: random.Random) -> Case:
    name, flag, dest = _name(rng), _wram(rng), _dp(rng)
    return Case(
        "missing_sep",
        rng.choice(["missing SEP before 8-bit code", "accumulator left 16-bit"]),
        rng.choice([f"{name} overwrites the byte after {dest}.", f"The byte after {dest} keeps getting cleared."]),
        f"{name}:\n    REP #$20\n    LDA {flag}\n    AND #$00FF\n    STA {dest}\n    LDA #$01\n    STA {dest}\n    RTS",
        f"{name}:\n    REP #$20\n    LDA {flag}\n    AND #$00FF\n    STA {dest}\n    SEP #$20\n"
        f"    LDA #$01\n    STA {dest}\n    RTS",
        f"The second half of {name} is written for an 8-bit accumulator, but no SEP #$20 switches back after the "
        f"16-bit read, so STA {dest} writes two bytes and clobbers its neighbour.",
        (
            "REP #$20 makes the accumulator 16-bit for the masked read.",
            "The code then assumes 8-bit A, but the M flag is still clear.",
            f"STA {dest} stores 16 bits, writing the high byte over the next address.",
        ),
        "SEP #$20 returns the accumulator to 8-bit, so the later store writes exactly one byte.",
    )


def stack_imbalance(rng: random.Random) -> Case:
    name = _name(rng)
    return Case(
        "stack_imbalance",
        rng.choice(["stack imbalance on the early exit", "unbalanced PHA/PLA"]),
        rng.choice(
            [
                f"{name} crashes only when the early exit is taken.",
                f"The game jumps to a random address after {name} returns early.",
            ]
        ),
        f"{name}:\n    PHA\n    PHX\n    LDA $10\n    BEQ .skip\n    INC $11\n    PLX\n    PLA\n.skip\n    RTS",
        f"{name}:\n    PHA\n    PHX\n    LDA $10\n    BEQ .skip\n    INC $11\n.skip\n    PLX\n    PLA\n    RTS",
        f"The early exit in {name} branches past PLX/PLA, so the stack is unbalanced: RTS pops the saved X and A "
        "as its return address.",
        (
            "PHA and PHX push two values onto the stack on entry.",
            "BEQ .skip jumps over the PLX/PLA pair when the loaded value is zero.",
            "RTS pulls the pushed registers as a return address, an imbalance that sends the CPU astray.",
        ),
        "Pulling X and A on the shared exit path keeps every push balanced by a pull before RTS.",
    )


def register_clobber(rng: random.Random) -> Case:
    name, helper = _name(rng), _name(rng)
    return Case(
        "register_clobber",
        rng.choice(["Y register clobbered by the helper", "caller's index overwritten"]),
        rng.choice(
            [f"My loop in {name} runs forever after calling {helper}.", f"{name} only processes the first slot."]
        ),
        f"{name}:\n    LDY #$08\n.loop\n    JSR {helper}\n    DEY\n    BNE .loop\n    RTS\n{helper}:\n    LDY #$00\n"
        "    LDA ($00),Y\n    STA $02\n    RTS",
        f"{name}:\n    LDY #$08\n.loop\n    JSR {helper}\n    DEY\n    BNE .loop\n    RTS\n{helper}:\n    PHY\n"
        "    LDY #$00\n    LDA ($00),Y\n    STA $02\n    PLY\n    RTS",
        f"{helper} overwrites Y, which {name} uses as its loop counter; the helper must preserve the registers its "
        "caller relies on (or the caller must save them), otherwise the clobber resets the count.",
        (
            f"{name} loads Y with the loop count and calls {helper}.",
            f"{helper} clobbers Y with LDY #$00 for its own indexed read.",
            "Back in the loop, DEY starts from the overwritten value, so the count never ends as intended.",
        ),
        "PHY and PLY make the helper preserve Y, so the caller's counter survives the call.",
    )


def dma_setup(rng: random.Random) -> Case:
    size = rng.choice([0x200, 0x400, 0x800, 0x1000])
    vram = rng.randrange(0x1000, 0x7000, 0x400)
    return Case(
        "dma_setup",
        rng.choice(["DMA byte count never set", "missing DMA length"]),
        rng.choice(
            [
                "The tiles upload, but the DMA overwrites all of VRAM and the screen turns to garbage.",
                "The graphics upload takes forever and corrupts everything after the tiles.",
            ]
        ),
        f"    LDA #$80\n    STA $2115\n    LDX #${vram:04X}\n    STX $2116\n    LDA #$01\n    STA $4300\n"
        f"    LDA #$18\n    STA $4301\n    LDX #$8000\n    STX $4302\n    LDA #$01\n    STA $4304\n    LDA #$01\n"
        "    STA $420B",
        f"    LDA #$80\n    STA $2115\n    LDX #${vram:04X}\n    STX $2116\n    LDA #$01\n    STA $4300\n"
        f"    LDA #$18\n    STA $4301\n    LDX #$8000\n    STX $4302\n    LDA #$01\n    STA $4304\n"
        f"    LDX #${size:04X}\n    STX $4305\n    LDA #$01\n    STA $420B",
        f"The channel's byte count in $4305/$4306 is never written, so the DMA length is whatever was left there; "
        f"a count of 0 means 65536 bytes, far more than the ${size:04X} bytes of tiles.",
        (
            "$4300-$4304 set the mode, the B-bus target $2118 and the source address.",
            "$4305/$4306 still hold an old count, often 0, which the DMA treats as 65536 bytes.",
            "STA $420B starts the transfer and it keeps copying past the tiles into the rest of VRAM.",
        ),
        f"Writing ${size:04X} to $4305 sets the byte count, so the DMA stops after the tiles.",
    )


def wrong_data_bank(rng: random.Random) -> Case:
    name, table = _name(rng), f"Table{rng.randint(1, 99)}"
    bank = rng.choice([0x0A, 0x0C, 0x12, 0x1B])
    return Case(
        "bank_boundary",
        rng.choice(["wrong data bank register", "data bank not set for the table"]),
        rng.choice(
            [
                f"{name} reads zeros instead of the values in {table}.",
                f"The table lookup in {name} returns garbage when called from the NMI.",
            ]
        ),
        f"org $008000\n{name}:\n    LDX $10\n    LDA {table},X\n    STA $12\n    RTL\n"
        f"org ${bank:02X}8000\n{table}:\n    db $01, $02, $04, $08",
        f"org $008000\n{name}:\n    PHB\n    PHK\n    PLB\n    LDX $10\n    LDA {table},X\n    STA $12\n    PLB\n"
        f"    RTL\norg ${bank:02X}8000\n{table}:\n    db $01, $02, $04, $08",
        f"LDA {table},X is an absolute read through the data bank register (DB), which still points at the caller's "
        f"bank, not bank ${bank:02X} where the table lives; a long address or setting DB fixes the lookup.",
        (
            "Absolute addressing takes its bank byte from DB, the data bank register.",
            "The caller left DB at its own bank, so the read lands at the same offset in the wrong bank.",
            "The values that come back are whatever that bank holds at that address.",
        ),
        "PHB/PHK/PLB points DB at the code's own bank for the lookup, and PLB restores the caller's bank.",
    )


def jsr_rtl_mismatch(rng: random.Random) -> Case:
    name, caller = _name(rng), _name(rng)
    return Case(
        "subroutine_call",
        rng.choice(["JSL routine returning with RTS", "RTS after a long call"]),
        rng.choice(
            [
                f"The game crashes right after {name} returns to {caller}.",
                f"{caller} never continues after calling {name}.",
            ]
        ),
        f"{caller}:\n    JSL {name}\n    INC $10\n    RTL\n{name}:\n    LDA #$01\n    STA $11\n    RTS",
        f"{caller}:\n    JSL {name}\n    INC $10\n    RTL\n{name}:\n    LDA #$01\n    STA $11\n    RTL",
        f"{caller} calls {name} with JSL, which pushes a 3-byte return address on the stack, but the routine "
        "returns with RTS, which pops only 2, so the return goes to the wrong place and one byte stays behind.",
        (
            "JSL pushes the program bank and the 16-bit return address: 3 bytes.",
            "RTS pulls 2 bytes and stays in the current bank.",
            "The leftover byte misaligns the stack and the CPU returns into the wrong code.",
        ),
        "RTL pulls all 3 bytes JSL pushed, so the return lands right after the call.",
    )


def immediate_width(rng: random.Random) -> Case:
    name, dest = _name(rng), _wram(rng)
    value = rng.randrange(0x1234, 0xFF00)
    return Case(
        "16bit_operations",
        rng.choice(["16-bit value stored with an 8-bit accumulator", "high byte lost"]),
        rng.choice(
            [f"{dest} only ever holds the low byte of ${value:04X}.", f"The high byte at {dest} is never updated."]
        ),
        f"{name}:\n    SEP #$20\n    LDA.b #${value & 0xFF:02X}\n    STA {dest}\n    RTS",
        f"{name}:\n    REP #$20\n    LDA.w #${value:04X}\n    STA {dest}\n    SEP #$20\n    RTS",
        f"With SEP #$20 the accumulator is 8-bit, so {name} can only load and store the low byte; a 16-bit value "
        "needs the accumulator in 16-bit mode so both the low byte and the high byte are written.",
        (
            "SEP #$20 sets the M flag: the accumulator is 8 bits wide.",
            "LDA.b loads one byte and STA writes one byte, the low byte only.",
            "The word at the destination keeps its old high byte.",
        ),
        "REP #$20 with LDA.w stores the whole word; SEP #$20 afterwards restores the 8-bit accumulator.",
    )


def mvn_length(rng: random.Random) -> Case:
    count = rng.choice([0x20, 0x40, 0x80, 0x100])
    src, dst = rng.randrange(0x2000, 0x4000, 0x100), rng.randrange(0x5000, 0x7000, 0x100)
    return Case(
        "off_by_one",
        rng.choice(["MVN count is off by one", "block move copies one byte too many"]),
        rng.choice(
            [
                f"Copying ${count:X} bytes also overwrites the byte after the destination buffer.",
                "The block copy corrupts the first byte after the buffer.",
            ]
        ),
        f"    REP #$30\n    LDA #${count:04X}\n    LDX #${src:04X}\n    LDY #${dst:04X}\n    MVN $7E,$7E\n    SEP #$30",
        f"    REP #$30\n    LDA #${count - 1:04X}\n    LDX #${src:04X}\n    LDY #${dst:04X}\n"
        "    MVN $7E,$7E\n    SEP #$30",
        f"MVN copies A+1 bytes, so loading the byte count ${count:04X} itself is an off-by-one: the loop runs "
        "one extra time and writes one byte past the buffer.",
        (
            "MVN moves one byte per iteration and decrements A until it wraps past zero.",
            f"With A = ${count:04X} that is ${count + 1:X} iterations, one more than the buffer length.",
            "The extra byte lands right after the destination buffer.",
        ),
        "Loading the count minus one gives exactly the intended number of bytes.",
    )


def dma_destination(rng: random.Random) -> Case:
    size = rng.choice([0x20, 0x40, 0x80, 0x200])
    source = rng.randrange(0x8000, 0xF000, 0x20)
    return Case(
        "dma_issues",
        rng.choice(["DMA aimed at the wrong B-bus register", "wrong DMA destination"]),
        rng.choice(["My palette DMA runs but the colours never change.", "CGRAM stays black after the upload."]),
        f"    STZ $2121\n    LDA #$00\n    STA $4300\n    LDA #$18\n    STA $4301\n"
        f"    LDX #${source:04X}\n    STX $4302\n"
        f"    LDA #$01\n    STA $4304\n    LDX #${size:04X}\n    STX $4305\n    LDA #$01\n    STA $420B",
        f"    STZ $2121\n    LDA #$00\n    STA $4300\n    LDA #$22\n    STA $4301\n"
        f"    LDX #${source:04X}\n    STX $4302\n"
        f"    LDA #$01\n    STA $4304\n    LDX #${size:04X}\n    STX $4305\n    LDA #$01\n    STA $420B",
        "$4301 sets the channel's B-bus destination to $18 (VMDATAL, VRAM), so the DMA writes the palette source "
        "into VRAM instead of CGRAM through $2122.",
        (
            "STZ $2121 selects colour 0 for a CGRAM upload.",
            "$4301 = $18 points the DMA channel at the VRAM data port, not the CGRAM port.",
            "STA $420B copies the bytes to VRAM; CGRAM never sees them.",
        ),
        "$22 targets CGDATA ($2122), so the same transfer length lands in the palette.",
    )


def mvn_operands(rng: random.Random) -> Case:
    src_bank, dst_bank = rng.choice([(0x7E, 0x7F), (0x7F, 0x7E)])
    offset, count = rng.randrange(0x2000, 0xE000, 0x100), rng.choice([0x7F, 0xFF, 0x1FF, 0x3FF])
    return Case(
        "addressing_errors",
        rng.choice(["MVN banks in the wrong order", "block move with swapped bank operands"]),
        rng.choice(
            [
                f"The copy from bank ${src_bank:02X} to ${dst_bank:02X} goes the other way.",
                "My WRAM backup overwrites the live data instead of saving it.",
            ]
        ),
        f"    REP #$30\n    LDA #${count:04X}\n    LDX #${offset:04X}\n    LDY #${offset:04X}\n"
        f"    MVN ${src_bank:02X},${dst_bank:02X}\n    SEP #$30",
        f"    REP #$30\n    LDA #${count:04X}\n    LDX #${offset:04X}\n    LDY #${offset:04X}\n"
        f"    MVN ${dst_bank:02X},${src_bank:02X}\n    SEP #$30",
        f"In Asar's syntax MVN takes the destination bank first and the source bank second, so MVN "
        f"${src_bank:02X},${dst_bank:02X} copies from bank ${dst_bank:02X} into bank ${src_bank:02X}: the long "
        "addressing of the block move is reversed.",
        (
            "X and Y hold the source and destination offsets.",
            "The first operand becomes the destination bank, the second the source bank.",
            "With the banks swapped, the data flows from the backup into the live copy.",
        ),
        "Writing the destination bank first makes the move copy in the intended direction.",
    )


CASES: tuple[Callable[[random.Random], Case], ...] = (
    mode_mismatch,
    missing_sep,
    stack_imbalance,
    register_clobber,
    dma_setup,
    wrong_data_bank,
    jsr_rtl_mismatch,
    immediate_width,
    mvn_length,
    dma_destination,
    mvn_operands,
)


def render(case: Case, rng: random.Random) -> tuple[str, str]:
    question = f"{rng.choice(INTROS)}\n\n```asm\n{case.buggy}\n```\n\n{case.symptom}"
    steps = "\n".join(f"{i}. {s}" for i, s in enumerate(case.steps, 1))
    answer = (
        f"**Bug: {case.title}**\n\n{case.diagnosis}\n\n**What's happening:**\n{steps}\n\n"
        f"**Fix:**\n```asm\n{case.fixed}\n```\n\n{case.why}"
    )
    return question, answer


class BugInjection(Generator):
    name = "bug_injection"
    version = "1"
    description = f"{len(CASES)} bug categories injected into correct 65816 idioms, written up diagnosis-first"

    def generate(self, n: int, seed: int) -> list[SampleRevision]:
        rng = random.Random(f"{self.name}:{self.version}:{seed}")

        def propose(index: int) -> SampleRevision:
            case = CASES[index % len(CASES)](rng)  # round-robin keeps the categories balanced
            question, answer = render(case, rng)
            return self.proposal(
                Kind.debug_dialogue,
                case.category,
                question,
                answer,
                seed=seed,
                index=index,
                buggy_code=case.buggy,
                fixed_code=case.fixed,
            )

        return self.distinct(n, propose)


register(BugInjection())

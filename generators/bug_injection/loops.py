"""Loops and branches: bounds one off, loops that end too early or never, and the rewrites people make
when Asar says a branch is out of range."""

from __future__ import annotations

from curation.asm.behaviour import BehaviourSpec, Scenario
from generators.bug_injection.case import Case
from generators.draw import Draw, h2, h4

GUARD = 0xA5  # the byte a caller keeps right after a buffer: a loop that runs one pass too many changes it


def _pattern(d: Draw, count: int) -> bytes:
    """Non-zero bytes other than GUARD, so a cleared, copied or clobbered byte always shows."""
    return bytes(d.pick([v for v in range(1, 0x100) if v != GUARD]) for _ in range(count))


FAR_MARK = 0x7E1F80  # outside low_ram's $0B00-$1DFF and the stack page


def _far_stub() -> str:
    """The far routine reduced to what the spec can see: it leaves $01 at FAR_MARK when it runs, then
    returns to the caller (a JMP/BRL to it is a tail call)."""
    return f"PHP\nSEP #$20\nLDA #$01\nSTA ${FAR_MARK:06X}\nPLP\nRTS"


def _taken(cond: str, a: int, operand: int) -> bool:
    """Whether ``cond`` branches after ``CMP #operand`` with an 8-bit A."""
    diff = (a - operand) & 0xFF
    return {
        "BEQ": diff == 0,
        "BNE": diff != 0,
        "BCS": a >= operand,
        "BCC": a < operand,
        "BMI": diff >= 0x80,
        "BPL": diff < 0x80,
    }[cond]


def mvn_count_off_by_one(d: Draw) -> Case:
    """MVN copies A+1 bytes; loading the byte count itself copies one too many."""
    count = d.pick([0x20, 0x40, 0x80, 0x100, 0x200, 0x30])
    src, dst = d.rng.randrange(0x2000, 0x4000, 0x100), d.rng.randrange(0x5000, 0x7000, 0x100)
    bank = d.pick([0x7E, 0x7F])
    name = d.routine()

    def code(a: int) -> str:
        lines = [f"{name}:", "PHB", "REP #$30", f"LDA #{h4(a)}", f"LDX #{h4(src)}", f"LDY #{h4(dst)}"]
        return d.asm([*lines, f"MVN {h2(bank)},{h2(bank)}", "SEP #$30", "PLB", "RTS"])

    # The source runs on past the buffer's length (as real data does); the byte after the destination is kept.
    source = _pattern(d, count + 1)
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"copying {h4(count)} bytes",
                flags={"m8": True, "x8": True},
                memory={bank << 16 | src: source, bank << 16 | dst: bytes(count) + bytes([GUARD])},
                expect_memory={bank << 16 | dst: source[:count], bank << 16 | (dst + count): bytes([GUARD])},
                properties=("returns", "db_kept", "widths_kept"),
            ),
        ),
    )
    return Case(
        "off_by_one",
        d.pick(["MVN count is off by one", "block move copies one byte too many", "count instead of count-1"]),
        d.pick(
            [
                f"Copying {h4(count)} bytes also overwrites the byte after the destination buffer.",
                f"The block copy in {name} corrupts the first byte after ${bank:02X}:{dst + count:04X}.",
                f"Whatever I keep right after the {count}-byte buffer gets clobbered by {name}.",
            ]
        ),
        code(count),
        code(count - 1),
        d.pick(
            [
                f"MVN copies A+1 bytes, so loading the byte count {h4(count)} itself is an off-by-one: the move "
                "loop runs one extra time and writes one byte past the buffer.",
                f"The block move's length register counts down to $FFFF, not to zero, so the number of bytes is "
                f"A + 1. With A = {h4(count)}, {name} copies {count + 1} bytes, one more than the buffer holds: an "
                "off-by-one in the move loop.",
            ]
        ),
        (
            "MVN moves one byte per iteration and decrements A until it wraps past zero.",
            f"With A = {h4(count)} that is {h4(count + 1)} iterations, one more than the buffer length.",
            f"The extra byte lands at ${bank:02X}:{dst + count:04X}, right after the destination buffer.",
        ),
        d.pick(
            [
                "Loading the count minus one gives exactly the intended number of bytes.",
                f"A = {h4(count - 1)} makes the loop run {count} times, the length of the buffer.",
            ]
        ),
        culprit=f"LDA #{h4(count)}",
        spec=spec,
    )


def clear_loop_bound(d: Draw) -> Case:
    """``LDX #len`` / ``DEX`` / ``BPL`` clears len+1 bytes: indexes len..0."""
    name = d.routine()
    length = d.int(0x08, 0x40)
    buf = 0x7F0000 + d.rng.randrange(0x5000, 0x7000, 0x40)
    reg = d.index()
    loop = d.loop_label()

    def code(start: int) -> str:
        store = f"STA ${buf:06X},X" if reg == "X" else f"STA ${buf & 0xFFFF:04X},Y"
        lines = [f"{name}:", "SEP #$30", "LDA #$00", f"LD{reg} #{h2(start)}", loop, store, f"DE{reg}"]
        return d.asm([*lines, f"BPL {loop}", "RTS"])

    # DB = $7F: the Y form stores with absolute addressing into the buffer's bank.
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"clearing the {length}-byte buffer",
                registers={"db": 0x7F},
                flags={"m8": True, "x8": True},
                memory={buf: _pattern(d, length) + bytes([GUARD])},
                expect_memory={buf: bytes(length), buf + length: bytes([GUARD])},
            ),
        ),
    )
    return Case(
        "off_by_one",
        d.pick(["loop clears one byte too many", "index starts at the length", "off-by-one loop bound"]),
        d.pick(
            [
                f"{name} clears my {length}-byte buffer, but also the byte right after it.",
                f"The variable after ${buf:06X}+{h2(length)} keeps getting zeroed.",
                f"Something after the buffer gets reset whenever {name} runs.",
            ]
        ),
        code(length),
        code(length - 1),
        d.pick(
            [
                f"The loop runs with {reg} = {h2(length)}, {h2(length - 1)}, ... $00 and stops when DE{reg} goes "
                f"negative: that is {length + 1} passes for a {length}-byte buffer. The start index is off by one; "
                f"the last valid index is the length minus 1.",
                f"Indexes of a {length}-byte buffer run from 0 to {length - 1}. Starting the countdown at the "
                f"length itself is an off-by-one error, so {name}'s first store hits the byte one past the bound.",
            ]
        ),
        (
            f"LD{reg} #{h2(length)} starts the index at the length.",
            f"The first pass stores to offset {h2(length)}, one past the end.",
            f"BPL keeps the loop going through offset 0, so {length + 1} bytes are cleared.",
        ),
        d.pick(
            [
                f"Starting at {h2(length - 1)} clears exactly offsets {h2(length - 1)}..$00.",
                "With the index starting at length - 1, the loop count matches the buffer.",
            ]
        ),
        culprit=f"LD{reg} #{h2(length)}",
        spec=spec,
    )


def bpl_with_high_start(d: Draw) -> Case:
    """An 8-bit index starting above $80: still negative after the first DEX, so BPL exits at once."""
    name = d.routine()
    start = d.int(0x81, 0xFE)  # from $80, DEX gives $7F (positive) and the 8-bit loop would run to the end
    use_stz = d.chance(0.5)
    table = d.low_ram().address if use_stz else 0x7F0000 + d.rng.randrange(0x5000, 0x7000, 0x100)
    loop = d.loop_label()

    def code(wide: bool) -> str:
        head = [f"{name}:", "SEP #$20"]
        head += ["REP #$10", f"LDX #{h4(start)}"] if wide else ["SEP #$10", f"LDX #{h2(start)}"]
        body = [f"STZ ${table & 0xFFFF:04X},X"] if use_stz else ["LDA #$FF", f"STA ${table:06X},X"]
        return d.asm([*head, loop, *body, "DEX", f"BPL {loop}", "SEP #$10", "RTS"])

    fill = 0x00 if use_stz else 0xFF
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"initialising {start + 1} bytes",
                flags={"m8": True, "x8": True},
                memory={table: bytes([fill ^ 0x3C]) * (start + 1) + bytes([GUARD])},
                expect_memory={table: bytes([fill]) * (start + 1), table + start + 1: bytes([GUARD])},
                properties=("returns", "widths_kept"),
            ),
        ),
    )
    return Case(
        "loop_termination",
        d.pick(["BPL loop with a negative start index", "loop exits after one pass", "8-bit counter above $7F"]),
        d.pick(
            [
                f"{name} should clear {start + 1} bytes but only clears one of them.",
                f"Only the last byte of my table at ${table:06X} gets initialised.",
                f"The loop in {name} runs once and falls through.",
            ]
        ),
        code(False),
        code(True),
        d.pick(
            [
                f"With an 8-bit X the counter starts at {h2(start)}, which has bit 7 set, so it is already "
                f"negative. DEX leaves it negative and BPL falls through at once: the loop's exit condition is met "
                "on the first pass. Counting down with BPL only works from $80 or less in 8-bit mode.",
                f"BPL terminates the loop when the index is negative, and in 8-bit mode {h2(start)} is negative "
                f"(bit 7 set). {name}'s loop counter therefore ends after one DEX instead of counting down to zero.",
            ]
        ),
        (
            f"LDX #{h2(start)} loads an 8-bit counter with bit 7 set.",
            f"DEX makes it {h2(start - 1)}; N is still set.",
            "BPL is not taken, so the loop exits after one iteration.",
        ),
        d.pick(
            [
                f"With a 16-bit index (REP #$10), {h4(start)} is positive and the loop counts all the way down "
                "to $0000 before BPL falls through at $FFFF.",
                "A 16-bit counter keeps bit 15 clear for the whole count, so the loop terminates only after index 0.",
            ]
        ),
        culprit=f"BPL {loop}",
        spec=spec,
    )


def step_skips_bound(d: Draw) -> Case:
    """An index stepping by two compared with an odd bound using BNE: never equal, never ends."""
    name = d.routine()
    words = d.int(4, 30)
    bound = words * 2 + 1
    src, dst = d.sprite_table(), 0x7F0000 + d.rng.randrange(0x5000, 0x7000, 0x40)
    loop = d.loop_label()
    head = [f"{name}:", "REP #$20", "SEP #$10", "LDX #$00", loop, f"LDA {src.absolute},X", f"STA ${dst:06X},X"]
    head += ["INX", "INX", f"CPX #{h2(bound)}"]
    buggy = d.asm([*head, f"BNE {loop}", "SEP #$20", "RTS"])
    fixed = d.asm([*head, f"BCC {loop}", "SEP #$20", "RTS"])
    # The words at X = 0, 2, ... bound-1 (bytes 0..bound) are copied; the byte after them is someone else's.
    data = _pattern(d, bound + 1)
    spec = BehaviourSpec(
        name,
        "jsr",
        (
            Scenario(
                f"copying {words + 1} words",
                flags={"m8": True, "x8": True},
                memory={src.address: data, dst: bytes(bound + 1) + bytes([GUARD]) * 0x100},
                expect_memory={dst: data, dst + bound + 1: bytes([GUARD])},
                properties=("returns", "widths_kept"),
            ),
        ),
    )
    return Case(
        "loop_termination",
        d.pick(["loop bound never hit", "BNE on an index that steps over the bound", "endless copy loop"]),
        d.pick(
            [
                f"{name} never returns; the game hangs as soon as it runs.",
                "The copy loop runs forever and keeps overwriting the bytes after the destination buffer.",
                f"After {name} starts, the screen freezes.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The index X counts 0, 2, 4... but the exit condition is CPX #{h2(bound)} with BNE, an odd value X "
                "never "
                "reaches. The loop cannot terminate: in 8-bit mode X wraps past $FE to $00 and starts over.",
                f"The index steps by two (INX / INX) and the loop ends only when X equals {h2(bound)} exactly. An "
                f"even counter never equals an odd bound, so {name} loops forever; the test has to be 'reached or "
                "passed' (BCC).",
            ]
        ),
        (
            "Each pass copies a word and adds 2 to X.",
            f"CPX #{h2(bound)} compares an even X with an odd bound: never equal.",
            "BNE always branches back; X wraps at $100 and the loop never ends.",
        ),
        d.pick(
            [
                f"BCC {loop} loops only while X is below {h2(bound)}, so the loop exits as soon as X reaches or "
                "passes the bound.",
                "A less-than test (carry clear) ends the loop whichever value the step lands on.",
            ]
        ),
        culprit=f"BNE {loop}",
        spec=spec,
    )


def trampoline_inverted(d: Draw) -> Case:
    """A long conditional branch rewritten as Bcc + JMP, with the condition not inverted."""
    name = d.routine()
    far = d.routine()
    var = d.save_ram(wide=False) if d.chance(0.5) else d.free_ram()
    value = d.int(0, 0x20)
    cond, inverse = d.pick([("BEQ", "BNE"), ("BCS", "BCC"), ("BNE", "BEQ"), ("BMI", "BPL")])
    jump = d.pick(["JMP", "BRL"])
    head = [f"{name}:", "SEP #$20", f"LDA {var.long}", f"CMP #{h2(value)}"]
    count = d.low_ram()
    tail = [f"{jump} {far}", "+", f"INC {count.absolute}", "RTS"]
    buggy = d.asm([*head, f"{cond} +", *tail])
    fixed = d.asm([*head, f"{inverse} +", *tail])
    # The original `{cond} {far}`: when the condition holds {far} runs (as a tail call), otherwise the INC does.
    before = d.int(0, 0xFE)
    scenarios = []
    for v in dict.fromkeys(x & 0xFF for x in (value, value + 1, value - 1, value + 0x90)):
        taken = _taken(cond, v, value)
        scenarios.append(
            Scenario(
                f"{var.long} = {h2(v)}: {far} {'runs' if taken else 'is skipped'}",
                flags={"m8": True, "x8": True},
                memory={var.address: bytes([v]), count.address: bytes([before]), FAR_MARK: b"\x00"},
                expect_memory={
                    FAR_MARK: bytes([int(taken)]),
                    count.address: bytes([before if taken else before + 1]),
                },
            )
        )
    spec = BehaviourSpec(name, "jsr", tuple(scenarios), stubs={far: _far_stub()})
    return Case(
        "branch_range",
        d.pick(["long-branch rewrite kept the old condition", "branch trampoline inverted", "wrong branch around JMP"]),
        d.pick(
            [
                f"Asar said my {cond} to {far} was out of range, so I jump around it. Now {far} runs at the wrong "
                "time.",
                f"After fixing the 'relative branch out of bounds' error, {name} does the opposite of before.",
                f"{far} now runs in exactly the cases it shouldn't.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"A relative branch reaches only -128 to +127 bytes, so an out-of-range {cond} is rewritten as a "
                "short branch "
                f"over a {jump}. The short branch must test the opposite condition ({inverse}) to skip the {jump}; "
                f"{name} kept {cond}, so it skips the jump exactly when it should take it.",
                f"The original {cond} {far} was out of range (more than 127 bytes away). The usual fix branches "
                f"around a {jump} with the inverted condition; here the branch still uses {cond}, so the "
                f"{jump} {far} runs in the other case.",
            ]
        ),
        (
            f"CMP #{h2(value)} sets the flags for the test.",
            f"{cond} + skips the {jump} when the condition holds.",
            f"So {far} runs when the condition is false, the reverse of the original far {cond}.",
        ),
        d.pick(
            [
                f"{inverse} + skips the {jump} when the condition fails, so {far} is reached exactly when the old "
                f"{cond} would have branched; {jump} has no range limit within the bank.",
                f"Inverting the short branch ({inverse}) restores the meaning, with {jump} covering the distance.",
            ]
        ),
        culprit=f"{cond} +",
        spec=spec,
    )


def brl_dropped_condition(d: Draw) -> Case:
    """An out-of-range conditional branch replaced by BRL, which always branches."""
    name, far = d.routines(2)
    counter = d.free_ram()
    limit = d.int(2, 0x30)
    cond, inverse = d.pick([("BCS", "BCC"), ("BEQ", "BNE"), ("BCC", "BCS")])
    head = [f"{name}:", "SEP #$20", f"LDA {counter.long}", "INC A", f"STA {counter.long}", f"CMP #{h2(limit)}"]
    value, out = d.int(1, 9), d.low_ram()
    tail = [f"LDA #{h2(value)}", f"STA {out.absolute}", "RTS"]
    buggy = d.asm([*head, f"BRL {far}", *tail])
    fixed = d.asm([*head, f"{inverse} +", f"BRL {far}", "+", *tail])
    # The original `{cond} {far}` after the count: {far} (a tail call) when it holds, the store otherwise.
    scenarios = []
    for frames in (limit - 2, limit - 1, limit):
        taken = _taken(cond, frames + 1, limit)
        scenarios.append(
            Scenario(
                f"{counter.long} = {h2(frames)}: {far} {'runs' if taken else 'is not called yet'}",
                flags={"m8": True, "x8": True},
                memory={counter.address: bytes([frames]), out.address: b"\x00", FAR_MARK: b"\x00"},
                expect_memory={
                    counter.address: bytes([frames + 1]),
                    FAR_MARK: bytes([int(taken)]),
                    out.address: bytes([0 if taken else value]),
                },
            )
        )
    spec = BehaviourSpec(name, "jsr", tuple(scenarios), stubs={far: _far_stub()})
    return Case(
        "branch_range",
        d.pick(["BRL is unconditional", "condition lost in a long branch", "out-of-range fix drops the test"]),
        d.pick(
            [
                f"{cond} {far} was too far away, so I changed it to BRL. Now {far} runs every frame.",
                f"Since the 'branch out of range' fix, {name} never reaches the code after the compare.",
                f"{far} keeps running after the counter reaches {limit}."
                if cond == "BCC"
                else f"{far} is called immediately instead of after {limit} frames.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{cond} was out of range (a branch reaches only -128..+127 bytes), and BRL fixes the distance but "
                f"not the logic: BRL always branches. The CMP #{h2(limit)} result is ignored and {name} jumps to "
                f"{far} every time.",
                "BRL is a long unconditional branch with a 16-bit range (a short branch reaches -128..+127). "
                f"Replacing {cond} with it drops the "
                f"condition, so the counter test is meaningless; keep a short {inverse} around the BRL.",
            ]
        ),
        (
            f"CMP #{h2(limit)} sets the flags, but nothing reads them.",
            f"BRL {far} branches unconditionally.",
            "The code after it is never reached and the far routine runs every call.",
        ),
        d.pick(
            [
                f"{inverse} + skips the BRL unless the original {cond} condition holds; BRL then covers the distance.",
                "A short inverted branch around BRL keeps the condition and the long range.",
            ]
        ),
        culprit=f"BRL {far}",
        spec=spec,
    )


# Where this family's templates stand in the generator's list: proposals depend on the order (seeded draws).
FAMILY_ORDER = 70
TEMPLATES = (
    mvn_count_off_by_one,
    clear_loop_bound,
    bpl_with_high_start,
    step_skips_bound,
    trampoline_inverted,
    brl_dropped_condition,
)

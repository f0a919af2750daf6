"""``Draw``: one seeded source of every choice a template makes, and the asm house styles.

A template asks the draw for a routine name, a RAM location, an index register or one of several
phrasings; everything comes from one ``random.Random``, so a seed fixes a proposal completely. The
code style (plain, ALTTP-disassembly size suffixes ``LDA.b``/``STA.w``/``LDA.l``, ``:``-joined pairs,
lower-case mnemonics) is drawn once per proposal and applied to its buggy and fixed code alike, so
the fix still differs from the bug only where the bug is.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import TypeVar

from generators.vocabulary import (
    DMA_REGISTERS,
    EMULATORS,
    EXIT_LABELS,
    HARDWARE,
    LOOP_LABELS,
    NAME_NOUNS,
    NAME_PREFIXES,
    NAME_VERBS,
    SAVE_WRAM,
    SPRITE_TABLES,
    WRAM,
    Ram,
)

T = TypeVar("T")

_LABEL_LINE = re.compile(r"^(?:[A-Za-z_][\w]*:|\.[\w]+|[-+]+)$")
_MEMORY_OP = re.compile(
    r"^(LDA|LDX|LDY|STA|STX|STY|STZ|ADC|SBC|AND|ORA|EOR|CMP|CPX|CPY|INC|DEC|BIT|TSB|TRB|ASL|LSR|ROL|ROR)"
    r" (\$[0-9A-F]{2}|\$[0-9A-F]{4}|\$[0-9A-F]{6})(,[XY])?(\s*;.*)?$"
)
_JOIN_FIRST = re.compile(r"^(LDA|LDX|LDY|PHB|PHK)\b[^;]*$")
_JOIN_SECOND = re.compile(r"^(STA|STX|STY|CMP|CPX|CPY|PHK|PLB)\b[^;]*$")
STYLES = ("plain", "plain", "sized", "compact", "lower")
_ADDRESS = re.compile(r"\$([0-9A-F]{6}|[0-9A-F]{4})\b")
_KNOWN_RAM = {r.address: r.what for r in (*WRAM, *SPRITE_TABLES, *SAVE_WRAM)}
_SIZE_COMMENTS = {
    "REP #$20": ("A = 16-bit", "16-bit accumulator"),
    "SEP #$20": ("A = 8-bit", "8-bit accumulator"),
    "REP #$30": ("A/X/Y = 16-bit", "16-bit A and index"),
    "SEP #$30": ("A/X/Y = 8-bit", "8-bit A and index"),
    "REP #$10": ("X/Y = 16-bit", "16-bit index"),
    "SEP #$10": ("X/Y = 8-bit", "8-bit index"),
}


class Draw:
    """Seeded choices with the domain's vocabulary (see module docstring)."""

    def __init__(self, rng: random.Random, field_names: Sequence[str] = ()) -> None:
        self.rng = rng
        self.field_names = tuple(field_names)
        self.style = rng.choice(STYLES)
        # Comments are decided per line text (not by drawing in order), so the buggy and the fixed
        # code carry the same comment on every line they share.
        self.comment_rate = rng.choice((0.0, 0.0, 0.35, 0.6))
        self.comment_salt = rng.randrange(1 << 30)
        self.comment_voice = rng.randrange(2)
        self._used: set[str] = set()

    # -- generic choices ------------------------------------------------------------------------
    def pick(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def int(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return self.rng.randint(low, high)

    def shuffled(self, items: Sequence[T]) -> list[T]:
        out = list(items)
        self.rng.shuffle(out)
        return out

    # -- names ----------------------------------------------------------------------------------
    def routine(self) -> str:
        """A routine name not used yet in this proposal, composed in the disassembly's style."""
        return self._name(field_share=0.0)

    def caller(self) -> str:
        """A name for the code around the bug (a caller, a hook): the field's own names half the time."""
        return self._name(field_share=0.5)

    def _name(self, field_share: float) -> str:
        for _ in range(50):
            if self.field_names and self.chance(field_share):
                name = self.pick(self.field_names)
            else:
                prefix, noun, verb = self.pick(NAME_PREFIXES), self.pick(NAME_NOUNS), self.pick(NAME_VERBS)
                name = f"{prefix}_{noun}_{verb}" if self.chance(0.5) else f"{prefix}_{verb}{noun}"
            if name not in self._used:
                self._used.add(name)
                return name
        return f"Routine_{self.int(100, 999)}"

    def routines(self, k: int) -> list[str]:
        return [self.routine() for _ in range(k)]

    def loop_label(self) -> str:
        return self.pick(LOOP_LABELS)

    def exit_label(self) -> str:
        return self.pick(EXIT_LABELS)

    def emulator(self) -> str:
        return self.pick(EMULATORS)

    # -- memory ---------------------------------------------------------------------------------
    def free_ram(self, wide: bool = False) -> Ram:
        """A variable of the hack's own, in the $7F5000-$7F7FFF block hacks use as free RAM."""
        address = 0x7F0000 + self.rng.randrange(0x5000, 0x8000, 2 if wide else 1)
        return Ram(address, self.pick(["a timer", "a counter", "a state byte", "a flag byte", "a scratch value"]), wide)

    def low_ram(self, wide: bool = False) -> Ram:
        """A variable in $7E0B00-$7E1DFF: reachable with absolute addressing from banks $00-$3F."""
        address = 0x7E0000 + self.rng.randrange(0x0B00, 0x1E00, 2 if wide else 1)
        return Ram(address, self.pick(["a timer", "a counter", "a state byte", "a cooldown"]), wide)

    def scratch(self, even: bool = False) -> int:
        """A direct-page scratch byte ($00-$0F, as the game's own code uses them)."""
        return self.rng.randrange(0x00, 0x0E, 2) if even else self.rng.randrange(0x00, 0x10)

    def sprite_table(self) -> Ram:
        return self.pick(SPRITE_TABLES)

    def save_ram(self, wide: bool | None = None) -> Ram:
        options = [r for r in SAVE_WRAM if wide is None or r.wide == wide]
        return self.pick(options)

    def index(self) -> str:
        return self.pick(["X", "Y"])

    # -- code -----------------------------------------------------------------------------------
    def asm(self, lines: Sequence[str]) -> str:
        """Lay out code lines (labels flush left, the rest indented) in this proposal's style."""
        body = [ln.strip() for ln in lines if ln.strip()]
        if self.style == "sized":
            body = [_sized(ln) for ln in body]
        if self.style == "compact":
            body = _joined(body)
        body = [self._commented(ln) for ln in body]
        out = []
        for ln in body:
            if self.style == "lower" and not _LABEL_LINE.match(ln):
                ln = _lower_mnemonic(ln)
            out.append(ln if _LABEL_LINE.match(ln) else f"    {ln}")
        return "\n".join(out)

    def _commented(self, line: str) -> str:
        """The line with a comment naming the register or RAM it touches, for some lines."""
        if not self.comment_rate or ";" in line or _LABEL_LINE.match(line):
            return line
        if random.Random(f"{self.comment_salt}:{line}").random() >= self.comment_rate:
            return line
        note = _note(line, self.comment_voice)
        return f"{line} ; {note}" if note else line


def _note(line: str, voice: int) -> str | None:
    bare = re.sub(r"\.[bwl] ", " ", line)
    if bare in _SIZE_COMMENTS:
        return _SIZE_COMMENTS[bare][voice]
    for match in _ADDRESS.finditer(line):
        value = int(match.group(1), 16)
        if value in _KNOWN_RAM:
            return _KNOWN_RAM[value]
        low = value & 0xFFFF
        if value <= 0xFFFF and low in HARDWARE:
            return HARDWARE[low]
        if value <= 0xFFFF and 0x4300 <= low <= 0x437F and (low & 0xF) in DMA_REGISTERS:
            return DMA_REGISTERS[low & 0xF].format(n=(low >> 4) & 0xF)
        if 0x7E0000 <= value <= 0x7FFFFF and voice:
            return "WRAM" if value < 0x7F0000 else "free RAM"
    return None


def _sized(line: str) -> str:
    """``LDA $10`` -> ``LDA.b $10``, ``STA $0DD0,X`` -> ``STA.w $0DD0,X``, ``LDA $7EF36D`` -> ``LDA.l ...``."""
    m = _MEMORY_OP.match(line)
    if not m:
        return line
    digits = len(m.group(2)) - 1
    suffix = {2: ".b", 4: ".w", 6: ".l"}[digits]
    if suffix == ".l" and m.group(3) == ",Y":
        return line
    return f"{m.group(1)}{suffix}{line[3:]}"


def _joined(lines: list[str]) -> list[str]:
    """The disassembly's ``LDA $10 : STA $12`` pairs (never across a label or a comment)."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and _JOIN_FIRST.match(lines[i]) and _JOIN_SECOND.match(lines[i + 1]):
            out.append(f"{lines[i]} : {lines[i + 1]}")
            i += 2
        else:
            out.append(lines[i])
            i += 1
    return out


def _lower_mnemonic(line: str) -> str:
    return re.sub(r"(^|: )([A-Z]{3})(?=\b)", lambda m: m.group(1) + m.group(2).lower(), line)


def h2(value: int) -> str:
    return f"${value & 0xFF:02X}"


def h4(value: int) -> str:
    return f"${value & 0xFFFF:04X}"


def h6(value: int) -> str:
    return f"${value & 0xFFFFFF:06X}"

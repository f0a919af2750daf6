"""The terms a correct diagnosis names, per bug category.

Each category lists term *groups*; a group is satisfied when any of its alternatives appears as a
whole word (or, for registers and addresses, as a whole token). The original field scorer matched
lowercase substrings, so the keyword "Y" was "found" inside "every" - here a single-letter register
only counts as an uppercase standalone token (``Y``, ``,Y``), and ``$4305`` does not match ``$43050``.

Covers the categories the brief names and the 28 in farore_benchmark.jsonl.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from schemas.taxonomy import BUG_CATEGORIES, canonical_category

# Mnemonics and register letters are matched case-sensitively when written in capitals in this table,
# except mnemonics, which match in either case (``pha`` in lowercase code is still PHA).
_MNEMONIC = re.compile(r"^[A-Z]{3}$")
_REGISTER = re.compile(r"^[AXYSDPB]$")


@dataclass(frozen=True)
class TermGroup:
    alternatives: tuple[str, ...]

    @property
    def label(self) -> str:
        return "/".join(self.alternatives)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        parts = []
        for term in self.alternatives:
            body = re.escape(term).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]?")
            if _REGISTER.match(term):
                parts.append(rf"(?-i:(?<![\w$#.']){term}(?![\w']))")
            elif term.startswith("$"):
                parts.append(rf"(?<![\w$]){body}(?![0-9A-Fa-f])")
            else:
                parts.append(rf"(?<![\w$#]){body}(?![\w])")
        return re.compile("|".join(parts), re.I)

    def found_in(self, text: str) -> bool:
        return bool(self.pattern.search(text))


def _groups(*groups: str) -> tuple[TermGroup, ...]:
    """``"REP|SEP"`` is one group with two alternatives."""
    return tuple(TermGroup(tuple(g.split("|"))) for g in groups)


CATEGORY_TERMS: dict[str, tuple[TermGroup, ...]] = {
    # The brief's named categories.
    "mode_mismatch": _groups("16-bit", "8-bit", "mode", "REP|SEP", "size|width"),
    "stack_imbalance": _groups(
        "stack", "PHA|PLA|PHX|PLX|PHY|PLY|PHP|PLP|PHB|PLB|PHD|PLD", "balance|imbalance|unbalanced|mismatch"
    ),
    "register_clobber": _groups(
        "preserve|save|restore",
        "clobber|clobbers|clobbered|overwrite|overwrites|corrupt|corrupts",
        "PHY|PLY|PHX|PLX|PHA|PLA",
        "caller-save|callee-save|caller|callee",
    ),
    "dma_setup": _groups("$4305|$4306", "length|size", "count|byte count|bytes", "DMA", "$420B"),
    "missing_sep": _groups("SEP", "8-bit", "16-bit", "accumulator|A"),
    # farore_benchmark.jsonl categories.
    "addressing_errors": _groups("address|addressing", "bank|long|direct page", "indirect|indexed|absolute"),
    "branch_range": _groups("branch", "range|out of range|too far", "-128|127|128", "BRL|JMP|JML"),
    "register_corruption": _groups(
        "preserve|save|restore",
        "clobber|clobbers|clobbered|overwrite|overwrites|corrupt|corrupts|corrupted",
        "PHA|PLA|PHX|PLX|PHY|PLY",
        "register",
    ),
    "dma_issues": _groups("DMA", "$420B|$4300|$4302|$4305", "channel|source|destination", "length|size|count"),
    "nmi_race": _groups("NMI", "race|interrupt", "VBlank|V-blank|vblank", "flag|wait"),
    "hdma_corruption": _groups("HDMA", "$420C", "table|channel", "DMA"),
    "save_corruption": _groups("SRAM|save", "checksum|corrupt|corruption|verify", "write|writes"),
    "carry_flag": _groups("carry", "CLC|SEC", "ADC|SBC", "flag"),
    "vblank_timing": _groups("VBlank|V-blank|vblank", "$4212|$4210|NMI", "wait|timing", "PPU|VRAM"),
    "interrupt_handling": _groups("interrupt|IRQ|NMI", "RTI", "preserve|save|restore|push", "PHP|PLP|SEI|CLI|PHA|PLA"),
    "addressing_mode": _groups(
        "addressing mode|mode", "indirect|indexed|absolute|long|direct page|immediate", "operand|address"
    ),
    "comparison_logic": _groups("CMP|CPX|CPY", "flag|flags", "BCC|BCS|BEQ|BNE|BMI|BPL", "carry|zero|negative"),
    "loop_termination": _groups(
        "loop", "counter|index", "DEX|DEY|INX|INY|DEC|INC", "BNE|BPL|BEQ|condition|terminate|exit"
    ),
    "16bit_operations": _groups("16-bit", "REP|SEP", "high byte|low byte|both bytes|word", "accumulator|A"),
    "off_by_one": _groups("off-by-one|off by one", "one|1", "count|length|bound|boundary", "loop|index"),
    "pointer_bugs": _groups("pointer", "indirect", "bank|direct page", "Y|index"),
    "timing_issues": _groups("timing|cycles|wait", "VBlank|V-blank|vblank|H-blank|HBlank", "PPU|register"),
    "bank_boundary": _groups("bank", "boundary|wrap|wraps|cross|crosses", "DB|data bank|PHB|PLB|long"),
    "flag_state": _groups("flag|flags", "P register|status|processor status|P", "REP|SEP|PHP|PLP|CLC|SEC"),
    "initialization": _groups(
        "initialize|initialise|init|initialization|initialisation|uninitialized|uninitialised",
        "clear|zero|reset|STZ",
        "register|RAM|memory",
    ),
    "signed_arithmetic": _groups("signed", "negative|sign", "BMI|BPL|overflow|BVS|BVC", "compare|comparison|CMP"),
    "memory_access": _groups("memory|RAM|WRAM", "address", "bank|long|direct page", "read|write|load|store"),
    "subroutine_call": _groups("subroutine|routine", "JSR|JSL", "RTS|RTL", "return|stack"),
    "bit_manipulation": _groups("bit|bits", "AND|ORA|EOR|TSB|TRB|BIT", "mask", "set|clear|toggle"),
    "oracle_water_collision": _groups("water|collision", "tile|tile type", "Link|player", "check|compare|CMP"),
    "oracle_palette_dispatch": _groups("palette", "dispatch|table|jump table", "index|pointer", "CGRAM|color|colour"),
}

if set(CATEGORY_TERMS) != set(BUG_CATEGORIES):  # every category the taxonomy names has its terms
    raise RuntimeError(f"terms and taxonomy disagree: {sorted(set(CATEGORY_TERMS) ^ set(BUG_CATEGORIES))}")

PASS_THRESHOLD = 0.6  # the field's own pass mark for keyword coverage


def terms_for(category: str | None) -> tuple[TermGroup, ...] | None:
    if not category:
        return None
    return CATEGORY_TERMS.get(canonical_category(category) or "")

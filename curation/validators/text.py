"""Text helpers shared by validators: fenced code blocks, line numbers, prose without code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from curation.asm.mnemonics import MNEMONICS

ASM_LANGS = {"asm", "65816", "65c816", "snes", "wla", "asar", "s", "ca65", "spc700", ""}
_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)

# An instruction line: optional label, a mnemonic in one case (``LDA``/``lda``, not the word "Bit"),
# at most one operand (``$10,X``, ``#$20``, ``(dp),Y``, ``.loop``), optional comment.
_ASM_LINE = re.compile(
    r"^\s*(?:[A-Za-z_.][\w.]*:\s*)?(?P<op>[A-Z]{3}|[a-z]{3})(?:\.[bwlBWL])?"
    r"(?:\s+[^\s;,]+(?:\s*,\s*[^\s;]+)?)?\s*(?:;.*)?$"
)
_LABEL_LINE = re.compile(r"^\s*(?:[-+]+|[.A-Za-z_][\w.]*:?)\s*(;.*)?$")


@dataclass(frozen=True)
class CodeBlock:
    index: int  # 0-based among the turn's fenced blocks
    lang: str
    code: str
    start_line: int  # 1-based line of the first code line inside the turn
    fenced: bool = True

    @property
    def is_asm(self) -> bool:
        return self.lang.lower() in ASM_LANGS


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def code_blocks(text: str) -> list[CodeBlock]:
    blocks = []
    for i, match in enumerate(_FENCE.finditer(text)):
        blocks.append(CodeBlock(i, match.group(1), match.group(2), line_of(text, match.start(2))))
    return blocks


def is_asm_line(line: str) -> bool:
    match = _ASM_LINE.match(line)
    return bool(match and match.group("op").upper() in MNEMONICS)


def bare_asm_block(text: str) -> CodeBlock | None:
    """Unfenced asm: a text whose non-blank lines are mostly instructions, labels and comments."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or "```" in text:
        return None
    asm = sum(1 for ln in lines if is_asm_line(ln))
    other = sum(
        1 for ln in lines if not is_asm_line(ln) and not _LABEL_LINE.match(ln) and not ln.strip().startswith(";")
    )
    if asm >= 1 and other == 0:
        return CodeBlock(0, "asm", text.strip("\n") + "\n", 1, fenced=False)
    return None


def trailing_asm(text: str) -> CodeBlock | None:
    """Unfenced asm after a prose line, as in ``Optimize this code:\\nLDA $00\\n...``."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if is_asm_line(line):
            while i > 0 and _LABEL_LINE.match(lines[i - 1]) and lines[i - 1].strip():
                i -= 1  # a label right before the first instruction belongs to the code
            rest = "\n".join(lines[i:])
            block = bare_asm_block(rest)
            if block:
                return CodeBlock(0, "asm", block.code, i + 1, fenced=False)
            return None
    return None


def prose(text: str) -> str:
    """The text with fenced code blanked out (what a reader reads as explanation).

    Each block becomes as many empty lines as it had, so line numbers in the result still point
    at the same lines of the original.
    """
    return _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z][A-Za-z'-]+", text)

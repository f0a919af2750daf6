"""Read an answer in the field's older ``**Bug:** ... **Fix:**`` shape into its parts.

A repair may only move what the answer already says, so this module's job is to find the parts
exactly: the bug type from the header, the diagnosis between the header and the fix as *units*
(sentences, or a sentence with the code blocks that follow it), and the fix section verbatim.
Code blocks are carried as their original text, fences included, so a rewrite can keep them
byte-identical. Nothing here judges the answer; ``compose.py`` decides what the parts become.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The validator's own patterns, so what counts as a header here is exactly what it accepts.
from curation.validators.diagnosis_first import _BUG, _FIX, _HAPPENING
from curation.validators.text import prose

# Fix headings the validator does not recognise but that are plainly the fix: "**Fix - if 16-bit:**",
# "**Fix in calling code:**", "**Fix (8-bit):**", "**Fix for larger ranges:**".
_FIX_VARIANT = re.compile(
    r"^\s*\*\*Fix(?:\s*[-–—]\s*|\s*\(|\s+(?=(?:in|for|if|when|to)\b))(?P<q>[^*]*?)\)?:?\*\*:?\s*(?P<rest>.*)$", re.I
)
_FENCE_OPEN = re.compile(r"^[ \t]*```")
# A sentence ends at . ! or ? followed by a space and something that starts a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`$(*\"'])")


@dataclass
class Unit:
    """One sentence of the diagnosis, with any lead-in line and code blocks that belong to it."""

    text: str
    blocks: list[str] = field(default_factory=list)  # fenced blocks, verbatim, fences included

    def render(self) -> str:
        return "\n".join([self.text, *self.blocks]) if self.text else "\n".join(self.blocks)

    @property
    def lead_in(self) -> bool:
        """A line that introduces what follows ("Common causes:", "**Or use XBA:**"), not a statement."""
        return self.text.strip("* ").endswith(":")


@dataclass
class LegacyAnswer:
    bug_type: str
    units: list[Unit]
    fix_heading: str  # the fix heading as it must read (normalised when it was a variant)
    fix_body: str  # everything after the heading line, verbatim
    fix_heading_normalised: bool = False


class NotRestructurable(ValueError):
    """The answer lacks a part a restructuring needs; ``reason`` is a short stable code for reports."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _fix_heading(line: str) -> tuple[str, bool] | None:
    """The fix heading to write for ``line`` (and whether it had to be normalised), or None."""
    if _FIX.match(line):
        return line, False
    m = _FIX_VARIANT.match(line)
    if not m:
        return None
    qualifier = m.group("q").strip()
    rest = m.group("rest").strip()
    heading = "**Fix:**" + (f" {qualifier}:" if qualifier else "") + (f" {rest}" if rest else "")
    return heading, True


def _blocks_and_paragraphs(lines: list[str]) -> list[tuple[str, str]]:
    """Split lines into ('code', verbatim fenced block) and ('prose', paragraph) pieces, in order."""
    pieces: list[tuple[str, str]] = []
    paragraph: list[str] = []
    i = 0

    def flush() -> None:
        if paragraph:
            pieces.append(("prose", "\n".join(paragraph)))
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        if _FENCE_OPEN.match(line):
            flush()
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
            if end is None:  # an unclosed fence: keep the rest as one block rather than guess
                end = len(lines) - 1
            pieces.append(("code", "\n".join(lines[i : end + 1])))
            i = end + 1
            continue
        if line.strip():
            paragraph.append(line)
        else:
            flush()
        i += 1
    flush()
    return pieces


def sentences(paragraph: str) -> list[str]:
    """A paragraph's sentences, text unchanged except that line breaks inside it become spaces."""
    flat = " ".join(part.strip() for part in paragraph.splitlines() if part.strip())
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]


def _units(lines: list[str]) -> list[Unit]:
    """Diagnosis units: each sentence is one; a code block joins the sentence before it, and a lead-in
    line ending in ':' joins the block after it."""
    units: list[Unit] = []
    lead_in: str | None = None
    for kind, text in _blocks_and_paragraphs(lines):
        if kind == "code":
            if lead_in is not None:
                units.append(Unit(lead_in, [text]))
                lead_in = None
            elif units:
                units[-1].blocks.append(text)
            else:
                units.append(Unit("", [text]))
            continue
        if lead_in is not None:
            units.append(Unit(lead_in))
            lead_in = None
        if "\n" not in text.strip() and text.strip("* ").endswith(":"):
            lead_in = text.strip()
            continue
        units.extend(Unit(s) for s in sentences(text))
    if lead_in is not None:
        units.append(Unit(lead_in))
    return units


def parse_legacy(answer: str) -> LegacyAnswer:
    """Split ``answer`` into bug type, diagnosis units and fix section; raise NotRestructurable if a
    part is missing (no header, no fix, or already a What's happening section)."""
    lines = answer.split("\n")
    first = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
    header = _BUG.match(lines[first]) if lines else None
    if header is None:
        raise NotRestructurable("no_bug_header", "the answer does not open with a **Bug:** header")
    bug_type = (header.group("type") or header.group("t2") or header.group("t3") or "").strip()
    if not bug_type:
        raise NotRestructurable("no_bug_type", "the **Bug:** header names no bug type")
    if any(_HAPPENING.match(ln) for ln in lines):
        raise NotRestructurable("has_whats_happening", "the answer already has a What's happening section")
    fix_at, heading = None, None
    in_code = False
    for i in range(first + 1, len(lines)):
        if _FENCE_OPEN.match(lines[i]):
            in_code = not in_code
            continue
        if not in_code and (found := _fix_heading(lines[i])) is not None:
            fix_at, heading = i, found
            break
    if fix_at is None or heading is None:
        raise NotRestructurable("no_fix_section", "the answer has no **Fix:** section to keep")
    body = "\n".join(lines[fix_at + 1 :])
    if "```" not in body and "```" not in heading[0]:
        raise NotRestructurable("fix_without_code", "the **Fix:** section holds no code block")
    return LegacyAnswer(
        bug_type=bug_type,
        units=_units(lines[first + 1 : fix_at]),
        fix_heading=heading[0],
        fix_body=body,
        fix_heading_normalised=heading[1],
    )


def symptom(question: str) -> str | None:
    """What the user says they saw: the question's prose without code, minus its questions
    ("What's wrong?"), or None when it states nothing."""
    text = " ".join(p.strip() for p in prose(question).splitlines() if p.strip())
    kept = [s for s in _SENTENCE_END.split(text) if s.strip() and not s.rstrip().endswith("?")]
    result = " ".join(s.strip() for s in kept).strip()
    return result or None

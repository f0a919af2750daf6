"""``asm_assembles``: every 65816 code block in a sample assembles with the real Asar 1.91.

Answer code must assemble (errors fail the sample). Code in the user turn is assembled too, but
its errors are warnings: a user asking about a branch out of range is *supposed* to show code that
does not assemble. Unfenced code (Alpaca rows often carry bare asm) is recognised as well. Error
lines are mapped back to the turn, the block and the line inside that turn.

Results are cached by snippet hash (in memory, and in the store's ``asm_cache`` table when run by
``triforge validate``), and all snippets of a batch of samples go to Asar together (see ``asar.py``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from curation.validators.asar import Asar, AsmOutcome
from curation.validators.base import Validator, register
from curation.validators.text import CodeBlock, bare_asm_block, code_blocks, trailing_asm
from schemas.sample import Kind, Role, SampleRevision
from schemas.sample import sha256_hex as _sha
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult

# What a contributor should do about Asar's most common complaints on code written for other assemblers.
HINTS = (
    (
        "Einvalid_number",
        re.compile(r"#[<>^]"),
        "Asar has no < > ^ byte operators: use #Label&$FF, #(Label>>8)&$FF and #bank(Label)",
    ),
    (
        "Eunknown_command",
        re.compile(r"\bJSR\s+\$[0-9A-Fa-f]{6}\b", re.I),
        "JSR takes a 16-bit address; use JSL for a long call",
    ),
    ("Erelative_branch_out_of_bounds", re.compile(r""), "branches reach -128..+127 bytes; use BRL or JMP/JML"),
)


def hint_for(code: str, message: str) -> str | None:
    return next((hint for c, pattern, hint in HINTS if c == code and pattern.search(message)), None)


class AsmCache(Protocol):
    def get_many(self, keys: Sequence[str]) -> dict[str, AsmOutcome]: ...

    def put_many(self, entries: dict[str, AsmOutcome]) -> None: ...


class MemoryAsmCache:
    """Outcomes in memory, the oldest dropped past ``max_entries`` (a long-running service sees
    unbounded distinct snippets; a process that validates once and exits never reaches the cap)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.entries: dict[str, AsmOutcome] = {}
        self.max_entries = max_entries
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, AsmOutcome]:
        with self._lock:
            return {k: self.entries[k] for k in keys if k in self.entries}

    def put_many(self, entries: dict[str, AsmOutcome]) -> None:
        with self._lock:
            self.entries.update(entries)
            for stale in list(self.entries)[: max(0, len(self.entries) - self.max_entries)]:
                del self.entries[stale]


@dataclass(frozen=True)
class _Snippet:
    turn: int
    block: CodeBlock
    from_user: bool


def snippets_of(revision: SampleRevision) -> list[_Snippet]:
    found: list[_Snippet] = []
    for turn, message in enumerate(revision.messages):
        if message.role == Role.system:
            continue
        blocks = [b for b in code_blocks(message.content) if b.is_asm]
        if not blocks and "```" not in message.content:
            # Unfenced code: a whole answer of bare asm, or a question with asm after its prose.
            is_user = message.role == Role.user
            bare = trailing_asm(message.content) if is_user else bare_asm_block(message.content)
            blocks = [bare] if bare else []
        found += [_Snippet(turn, b, message.role == Role.user) for b in blocks]
    return found


class AsmAssembles(Validator):
    name = "asm_assembles"
    version = "1"
    description = "every 65816 code block assembles with Asar 1.91 (answer: error, user turn: warning)"
    required_for = (Kind.debug_dialogue, Kind.quest_implementation, Kind.asm_optimize, Kind.asm_generate)
    advisory_for = (Kind.asm_explain,)
    rank = 20

    def __init__(self, asar: Asar | None = None, cache: AsmCache | None = None, *, budget: float | None = None) -> None:
        """``budget``: wall-clock seconds the assembler may spend per call (per judged submission in
        the service, where snippets are untrusted); None lets each run take the assembler's timeout."""
        self._asar = asar
        self.cache: AsmCache = cache or MemoryAsmCache()
        self.budget = budget

    @cached_property
    def asar(self) -> Asar:
        return self._asar or Asar()

    @cached_property
    def assembler_version(self) -> str:
        return self.asar.version

    def key(self, code: str) -> str:
        return _sha(f"asar {self.assembler_version}\n{code}")

    def validate(self, revision: SampleRevision) -> ValidationResult:
        return self.validate_many([revision])[0]

    def validate_many(
        self, revisions: Sequence[SampleRevision], cache: AsmCache | None = None
    ) -> list[ValidationResult]:
        cache = cache or self.cache
        per_revision = [snippets_of(r) for r in revisions]
        codes = {s.block.code for snippets in per_revision for s in snippets}
        keys = {code: self.key(code) for code in codes}
        known = cache.get_many(sorted(set(keys.values())))
        todo = sorted(code for code in codes if keys[code] not in known)
        if todo:
            fresh = dict(zip(todo, self.asar.check_many(todo, budget=self.budget), strict=True))
            cache.put_many({keys[c]: o for c, o in fresh.items()})
            known.update({keys[c]: o for c, o in fresh.items()})
        return [
            self._result(rev, snippets, {s.block.code: known[keys[s.block.code]] for s in snippets})
            for rev, snippets in zip(revisions, per_revision, strict=True)
        ]

    def _result(
        self, revision: SampleRevision, snippets: list[_Snippet], outcomes: dict[str, AsmOutcome]
    ) -> ValidationResult:
        if not snippets:
            return self.result(
                [ValidationIssue(code="no_code", severity="info", message="no 65816 code to assemble")],
                1.0,
                {"blocks": 0},
            )
        issues: list[ValidationIssue] = []
        answer_blocks = answer_ok = 0
        for snip in snippets:
            outcome = outcomes[snip.block.code]
            severity = "warning" if snip.from_user else "error"
            where = "the question's" if snip.from_user else "the answer's"
            if not snip.from_user:
                answer_blocks += 1
                answer_ok += outcome.ok
            lines = snip.block.code.split("\n")

            def loc(line: int | None, snip: _Snippet = snip, lines: list[str] = lines) -> IssueLocation:
                return IssueLocation(
                    turn=snip.turn,
                    block=snip.block.index if snip.block.fenced else None,
                    line=snip.block.start_line + line - 1 if line else snip.block.start_line,
                    excerpt=lines[line - 1].strip()[:120] if line and line <= len(lines) else None,
                )

            if outcome.refused:
                issues.append(
                    ValidationIssue(
                        code="asm_refused",
                        severity="error",
                        location=loc(None),
                        message=f"{where} code uses {outcome.refused!r}, which reads files; "
                        "snippets must be self-contained",
                    )
                )
            elif outcome.timed_out:
                issues.append(
                    ValidationIssue(
                        code="asm_timeout",
                        severity=severity,
                        location=loc(None),
                        message=f"{where} code did not assemble within the time limit",
                    )
                )
            for err in outcome.errors:
                hint = hint_for(err.code, err.message)
                issues.append(
                    ValidationIssue(
                        code="asm_error",
                        severity=severity,
                        location=loc(err.line),
                        message=f"{where} code does not assemble: {err.message} ({err.code})"
                        + (f"; {hint}" if hint else ""),
                    )
                )
            stubs = [*outcome.stubbed_labels, *(f"!{d}" for d in outcome.stubbed_defines)]
            if stubs:
                names = ", ".join(s.replace("__snippet_", ".") for s in stubs)
                issues.append(
                    ValidationIssue(
                        code="asm_stubbed",
                        severity="info",
                        location=loc(None),
                        message=f"{where} code refers to {names} without defining it; assembled with stand-ins",
                    )
                )
        score = answer_ok / answer_blocks if answer_blocks else 1.0
        score -= 0.1 * sum(1 for i in issues if i.severity == "warning")
        return self.result(
            issues,
            score,
            {
                "blocks": len(snippets),
                "answer_blocks": answer_blocks,
                "answer_blocks_ok": answer_ok,
                "assembler": f"asar {self.assembler_version}",
            },
        )


register(AsmAssembles())

"""``diagnosis_first``: the answer format the field converged on (Farore: 19% -> 84%).

    **Bug: <type>**
    <diagnosis paragraph tied to the symptom>
    **What's happening:**
    1. ...
    2. ...
    **Fix:**
    ```asm ... ```
    <why it works>

Every part that is missing or out of order is reported with the line it was expected at or found
on. The field's older ``**Bug:** ... **Fix:**`` shape (no "What's happening" steps, as in
farore_debugging_training.jsonl) is recognised as its own *legacy* variant: it fails with one clear
``legacy_format`` issue and a lower score, instead of a cascade of unrelated complaints.
"""

from __future__ import annotations

import itertools
import re

from curation.validators.base import Validator, register
from curation.validators.text import code_blocks, prose, words
from schemas.sample import Kind, Role, SampleRevision
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult

_BUG = re.compile(r"^\s*\*\*Bug(?::\s*(?P<type>[^*]+?)\s*\*\*|\*\*\s*:\s*(?P<t2>.+)|:\*\*\s*(?P<t3>.*))\s*$", re.I)
_HAPPENING = re.compile(r"^\s*\*\*What(?:'|’)?s happening:?\*\*:?\s*(?P<rest>.*)$", re.I)
_FIX = re.compile(r"^\s*\*\*Fix:?\*\*:?\s*(?P<rest>.*)$", re.I)
_STEP = re.compile(r"^\s*\d+[.)]\s+\S")
_STOP = frozenset(
    [
        "this",
        "that",
        "what",
        "with",
        "from",
        "have",
        "does",
        "doesn",
        "code",
        "when",
        "then",
        "there",
        "their",
        "will",
        "would",
        "should",
        "could",
        "into",
        "your",
        "about",
        "after",
        "before",
        "here",
        "just",
        "like",
        "only",
        "some",
        "than",
        "them",
        "they",
        "were",
        "which",
        "while",
        "also",
        "because",
        "wrong",
    ]
)
_TOKEN = re.compile(r"\$[0-9A-Fa-f]{2,6}|#\$[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9_-]{3,}|\b[A-Z]{3}\b")

MIN_DIAGNOSIS_WORDS = 12
MIN_WHY_WORDS = 5


def _salient(text: str) -> set[str]:
    tokens = set()
    for tok in _TOKEN.findall(text):
        low = tok.lower().lstrip("#")
        if low in _STOP:
            continue
        tokens.add(low)
    return tokens


class DiagnosisFirst(Validator):
    name = "diagnosis_first"
    version = "1"
    description = "Bug header, diagnosis, numbered What's happening steps, Fix with code and why"
    required_for = (Kind.debug_dialogue,)
    rank = 10

    def validate(self, revision: SampleRevision) -> ValidationResult:
        answer = revision.answer
        turn = len(revision.messages) - 1
        lines = answer.split("\n")
        issues: list[ValidationIssue] = []

        def at(line: int | None, excerpt: str | None = None) -> IssueLocation:
            return IssueLocation(turn=turn, line=line, excerpt=excerpt)

        def find(pattern: re.Pattern[str]) -> int | None:
            return next((i for i, ln in enumerate(lines) if pattern.match(ln)), None)

        first = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
        bug, happening, fix = find(_BUG), find(_HAPPENING), find(_FIX)
        score = 0.0
        bug_type = None
        if bug is None:
            issues.append(
                ValidationIssue(
                    code="missing_bug_header",
                    location=at(first + 1, lines[first][:80]),
                    message="the answer must open with **Bug: <type>** naming the bug",
                )
            )
        else:
            m = _BUG.match(lines[bug])
            bug_type = (m.group("type") or m.group("t2") or m.group("t3") or "").strip()
            if bug != first:
                issues.append(
                    ValidationIssue(
                        code="bug_header_not_first",
                        location=at(bug + 1),
                        message=f"**Bug:** is on line {bug + 1}; the answer must open with it",
                    )
                )
            if not bug_type:
                issues.append(
                    ValidationIssue(code="bug_type_missing", location=at(bug + 1), message="**Bug:** names no bug type")
                )
            score += 0.2 if bug == first and bug_type else 0.1

        # The diagnosis is the prose between the header and the next section.
        sections = sorted(i for i in (happening, fix) if i is not None)
        diag_start = (bug + 1) if bug is not None else first
        diag_end = next((i for i in sections if i >= diag_start), len(lines))
        diagnosis = prose("\n".join(lines[diag_start:diag_end]))
        if bug is not None and bug_type:
            diagnosis = f"{bug_type}\n{diagnosis}"
        if len(words(diagnosis)) < MIN_DIAGNOSIS_WORDS:
            issues.append(
                ValidationIssue(
                    code="missing_diagnosis",
                    location=at(diag_start + 1),
                    message=f"after the Bug header, explain the cause in a paragraph (>= {MIN_DIAGNOSIS_WORDS} words) "
                    "before any section",
                )
            )
        else:
            score += 0.2
            question = "\n".join(m.content for m in revision.messages if m.role == Role.user)
            shared = _salient(question) & _salient(diagnosis)
            if question.strip() and not shared:
                issues.append(
                    ValidationIssue(
                        code="diagnosis_not_tied",
                        severity="warning",
                        location=at(diag_start + 1),
                        message="the diagnosis mentions nothing from the question (no shared instruction, address "
                        "or symptom word); tie it to what the user saw",
                    )
                )
                score -= 0.05

        legacy = bug is not None and fix is not None and happening is None
        if happening is None:
            if not legacy:
                issues.append(
                    ValidationIssue(
                        code="missing_whats_happening",
                        location=at(None),
                        message="add a **What's happening:** section with numbered steps",
                    )
                )
        else:
            end = next((i for i in sections if i > happening), len(lines))
            steps = [i for i in range(happening + 1, end) if _STEP.match(lines[i])]
            if len(steps) < 2:
                issues.append(
                    ValidationIssue(
                        code="steps_not_numbered",
                        location=at(happening + 1),
                        message=f"**What's happening:** has {len(steps)} numbered step(s); walk through at least 2 "
                        "(1. 2. ...)",
                    )
                )
                score += 0.1
            else:
                score += 0.25

        if fix is None:
            issues.append(
                ValidationIssue(
                    code="missing_fix", location=at(None), message="add a **Fix:** section with corrected code"
                )
            )
        else:
            fix_text = "\n".join(lines[fix:])
            blocks = code_blocks(fix_text)
            if not blocks:
                issues.append(
                    ValidationIssue(
                        code="fix_without_code",
                        location=at(fix + 1),
                        message="**Fix:** must contain a code block with the corrected code",
                    )
                )
                score += 0.1
            else:
                score += 0.25
                explanation = prose("\n".join([_FIX.match(lines[fix]).group("rest"), *lines[fix + 1 :]]))
                if len(words(explanation)) < MIN_WHY_WORDS:
                    issues.append(
                        ValidationIssue(
                            code="fix_unexplained",
                            severity="warning",
                            location=at(fix + 1),
                            message="say why the fix works, next to the corrected code",
                        )
                    )
                else:
                    score += 0.1

        order = [
            (name, i)
            for name, i in (("**Bug:**", bug), ("**What's happening:**", happening), ("**Fix:**", fix))
            if i is not None
        ]
        for (name_a, a), (name_b, b) in itertools.pairwise(order):
            if a > b:
                issues.append(
                    ValidationIssue(
                        code="section_out_of_order",
                        location=at(b + 1),
                        message=f"{name_b} (line {b + 1}) comes before {name_a} (line {a + 1}); "
                        "the order is Bug, diagnosis, What's happening, Fix",
                    )
                )
                score -= 0.1

        variant = "full" if happening is not None else "legacy" if legacy else "none"
        if legacy:
            issues.insert(
                0,
                ValidationIssue(
                    code="legacy_format",
                    location=at(fix + 1),
                    message="older **Bug:** ... **Fix:** form: add a **What's happening:** section with numbered "
                    "steps between the diagnosis and the fix",
                ),
            )
            score = min(score, 0.6)
        return self.result(issues, score, {"variant": variant, "bug_type": bug_type})


register(DiagnosisFirst())

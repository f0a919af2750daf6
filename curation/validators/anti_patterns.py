"""``anti_patterns``: answers that must not be trained on.

Refusals, hedging ("I think", "maybe", "not sure"), asking the user to paste code instead of
diagnosing what is there, and code-only answers with no diagnosis - the failure that sank Farore v4,
where the model learnt to emit code without saying what was wrong.
"""

from __future__ import annotations

import re

from curation.validators.base import Validator, register
from curation.validators.text import bare_asm_block, code_blocks, prose, words
from schemas.sample import Kind, SampleRevision
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult

REFUSAL = re.compile(
    r"\b(I can(?:not|'t|’t) (?:help|assist)|I(?:'m|’m| am) (?:unable|not able) to|as an AI\b|"
    r"I won(?:'t|’t) be able to|I cannot provide)",
    re.I,
)
HEDGING = re.compile(
    r"\b(I think|maybe|not sure|I(?:'m|’m| am) not certain|I guess|perhaps|I believe|hard to say|"
    r"it(?:'s|’s| is) unclear)\b",
    re.I,
)
ASKS_FOR_CODE = re.compile(
    r"\b(please (?:provide|share|paste|send|post)|paste (?:the|your) (?:code|routine)|"
    r"(?:show|send|give) me the (?:current |actual |full )?(?:code|routine|assembly)|"
    r"can you (?:share|provide|paste)|once I (?:have|see) the code|provide the (?:code|routine|assembly))",
    re.I,
)

MIN_PROSE_WORDS = 8
# Kinds whose answers are explanations first: code alone is a failure there, a smell elsewhere.
EXPLAINING_KINDS = {Kind.debug_dialogue, Kind.asm_explain, Kind.quest_implementation}


class AntiPatterns(Validator):
    name = "anti_patterns"
    version = "1"
    description = "no refusals, hedging, requests for code, or code-only answers"
    required_for = tuple(Kind)  # every kind of sample
    rank = 90

    def validate(self, revision: SampleRevision) -> ValidationResult:
        answer = revision.answer
        turn = len(revision.messages) - 1
        issues: list[ValidationIssue] = []
        text = prose(answer)
        for code, pattern, message in (
            ("refusal", REFUSAL, "refuses instead of answering"),
            ("hedging", HEDGING, "hedges; state the diagnosis plainly"),
            ("asks_for_code", ASKS_FOR_CODE, "asks for code instead of diagnosing what was given"),
        ):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                issues.append(
                    ValidationIssue(
                        code=code,
                        message=f"{message}: {match.group(0)!r}",
                        location=IssueLocation(turn=turn, line=line, excerpt=match.group(0)),
                    )
                )
        has_code = bool(code_blocks(answer)) or bare_asm_block(answer) is not None
        prose_words = 0 if bare_asm_block(answer) else len(words(text))
        if has_code and prose_words < MIN_PROSE_WORDS:
            severity = "error" if revision.kind in EXPLAINING_KINDS else "warning"
            issues.append(
                ValidationIssue(
                    code="code_only",
                    severity=severity,
                    location=IssueLocation(turn=turn),
                    message=f"code with {prose_words} words of explanation; say what was wrong and why this works",
                )
            )
        penalty = sum(0.5 if i.severity == "error" else 0.15 for i in issues)
        return self.result(issues, 1.0 - penalty, {"prose_words": prose_words})


register(AntiPatterns())

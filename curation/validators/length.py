"""``length``: answers long enough to teach and short enough to train on.

Two profiles: *dialogue* (debugging dialogues and quest pairs, measured in words of explanation)
and *asm* (optimise / generate / explain, measured in characters, since bare code is normal there).
Too short is an error; too long is a warning (it costs context, it is not wrong).
"""

from __future__ import annotations

from dataclasses import dataclass

from curation.validators.base import Validator, register
from curation.validators.text import code_blocks, prose, words
from schemas.sample import Kind, SampleRevision
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult


@dataclass(frozen=True)
class LengthLimits:
    name: str
    min_words: int
    max_words: int
    min_chars: int
    max_chars: int
    max_code_lines: int


DIALOGUE = LengthLimits("dialogue", min_words=25, max_words=700, min_chars=120, max_chars=12_000, max_code_lines=120)
ASM = LengthLimits("asm", min_words=0, max_words=1_200, min_chars=4, max_chars=12_000, max_code_lines=200)
HARD_MAX_CHARS = 40_000  # past this a sample does not fit a 2048-token training window at all

LIMITS = {Kind.debug_dialogue: DIALOGUE, Kind.quest_implementation: DIALOGUE}


def limits_for(kind: Kind) -> LengthLimits:
    return LIMITS.get(kind, ASM)


class Length(Validator):
    name = "length"
    version = "1"
    description = "answer length within the dialogue or asm profile"
    required_for = (
        Kind.debug_dialogue,
        Kind.quest_implementation,
        Kind.asm_optimize,
        Kind.asm_generate,
        Kind.asm_explain,
    )
    advisory_for = (Kind.other,)
    rank = 100

    def validate(self, revision: SampleRevision) -> ValidationResult:
        limits = limits_for(revision.kind)
        answer = revision.answer
        turn = len(revision.messages) - 1
        loc = IssueLocation(turn=turn)
        n_words, n_chars = len(words(prose(answer))), len(answer)
        issues: list[ValidationIssue] = []
        if n_words < limits.min_words:
            issues.append(
                ValidationIssue(
                    code="too_short",
                    location=loc,
                    message=(
                        f"{n_words} words of explanation; a {limits.name} answer needs at least {limits.min_words}"
                    ),
                )
            )
        if n_chars < limits.min_chars:
            issues.append(
                ValidationIssue(
                    code="too_short",
                    location=loc,
                    message=(f"{n_chars} characters; a {limits.name} answer needs at least {limits.min_chars}"),
                )
            )
        if n_chars > HARD_MAX_CHARS:
            issues.append(
                ValidationIssue(
                    code="too_long",
                    location=loc,
                    message=(f"{n_chars} characters; no answer over {HARD_MAX_CHARS} fits a training window"),
                )
            )
        elif n_words > limits.max_words or n_chars > limits.max_chars:
            issues.append(
                ValidationIssue(
                    code="too_long",
                    severity="warning",
                    location=loc,
                    message=(
                        f"{n_words} words / {n_chars} characters; {limits.name} answers stay under "
                        f"{limits.max_words} words and {limits.max_chars} characters"
                    ),
                )
            )
        for block in code_blocks(answer):
            lines = block.code.count("\n")
            if lines > limits.max_code_lines:
                issues.append(
                    ValidationIssue(
                        code="code_block_too_long",
                        severity="warning",
                        location=IssueLocation(turn=turn, block=block.index, line=block.start_line),
                        message=f"code block of {lines} lines; keep examples under {limits.max_code_lines}",
                    )
                )
        penalty = sum(0.5 if i.severity == "error" else 0.1 for i in issues)
        return self.result(issues, 1.0 - penalty, {"profile": limits.name, "words": n_words, "chars": n_chars})


register(Length())

"""``alttp_conventions``: one rule per pitfall an ALttP hacker knows, each pointing at the vanilla routine
that does the job right. Rules are data (:mod:`curation.validators.conventions.rules`): add one by
appending a :class:`Rule`; the validator's version is derived from the rules' ids and versions, so a
new or changed rule re-runs exactly this validator."""

from __future__ import annotations

import hashlib

from curation.validators.base import ContextValidator, ValidationContext, register
from curation.validators.conventions.rules import RULES, Rule
from curation.validators.patches import parse_instructions
from curation.validators.text import code_blocks
from schemas.sample import Kind, SampleRevision
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult


def _version(rules: tuple[Rule, ...]) -> str:
    digest = hashlib.sha256(",".join(f"{r.id}@{r.version}" for r in rules).encode()).hexdigest()[:8]
    return f"1-{digest}"


class AlttpConventions(ContextValidator):
    name = "alttp_conventions"
    version = _version(RULES)
    description = f"{len(RULES)} ALttP conventions: messages, item grants, NMI mirrors, joypad copies, saved widths"
    required_for = (Kind.quest_implementation,)
    advisory_for = (Kind.debug_dialogue, Kind.asm_generate)
    rank = 60

    def validate_in(self, revision: SampleRevision, context: ValidationContext) -> ValidationResult:
        turn = len(revision.messages) - 1
        issues: list[ValidationIssue] = []
        blocks = [b for b in code_blocks(revision.answer) if b.is_asm]
        for block_no, block in enumerate(blocks):
            instructions = parse_instructions(block.code)
            for rule in RULES:
                for finding in rule.check(instructions, context.rom_map):
                    issues.append(
                        ValidationIssue(
                            code=rule.id,
                            severity=rule.severity,
                            message=finding.message,
                            location=IssueLocation(turn=turn, block=block_no, line=finding.line),
                        )
                    )
        errors = sum(i.severity == "error" for i in issues)
        return self.result(issues, 1.0 - errors / len(RULES), {"rules": [r.id for r in RULES]})


register(AlttpConventions())

__all__ = ["RULES", "AlttpConventions", "Rule"]

"""``quest_structure``: a quest -> implementation pair has both halves, complete.

Quest part (user turn or answer): goal, beats or steps, reward, constraints (e.g. text-box length).
Implementation part: asm code (``asm_assembles`` checks it assembles), and it names its hook point,
the RAM/SRAM flag it sets or reads, and the message/text id it shows.
"""

from __future__ import annotations

import re

from curation.validators.base import Validator, register
from curation.validators.text import code_blocks
from schemas.sample import Kind, SampleRevision
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult

_HEADING = r"(?im)^\W{{0,6}}(?:{words})\b"
QUEST_PARTS = {
    "goal": ("quest_missing_goal", re.compile(_HEADING.format(words="goal|objective"))),
    "beats": ("quest_missing_beats", re.compile(_HEADING.format(words="beats|steps|walkthrough|sequence"))),
    "reward": ("quest_missing_reward", re.compile(_HEADING.format(words="rewards?"))),
    "constraints": ("quest_missing_constraints", re.compile(_HEADING.format(words="constraints?|limits?"))),
}
_ADDRESS = r"\$[0-9A-Fa-f]{2}:?[0-9A-Fa-f]{4}"
# A hook point is named with an address, or is an ``org`` that patches in a jump to the new code.
HOOK = re.compile(rf"(?im)\bhook\b[^\n]*{_ADDRESS}|^\s*org\s+{_ADDRESS}\s*\n\s*(?:JSL|JML|JSR|JMP)\b")
FLAG = re.compile(r"(?i)(\$7EF[0-9A-F]{3}|\$7E[0-9A-F]{4}|\$7F[0-9A-F]{4}|\bSRAM\b|\bflag\b[^\n]*\$[0-9A-F]{2,6})")
TEXT_ID = re.compile(
    r"(?i)\b(message|text|msg|dialog(?:ue)?)[ _-]?(?:id|#|number)?\s*[:=]?\s*(?:#?\$|0x)?[0-9A-F]{2,4}\b"
)


class QuestStructure(Validator):
    name = "quest_structure"
    version = "1"
    description = "quest narrative (goal, beats, reward, constraints) and an implementation naming hook, flag, text id"
    required_for = (Kind.quest_implementation,)
    rank = 10

    def validate(self, revision: SampleRevision) -> ValidationResult:
        everything = "\n".join(m.content for m in revision.messages)
        answer = revision.answer
        turn = len(revision.messages) - 1
        issues: list[ValidationIssue] = []
        checks = 0
        for part, (code, pattern) in QUEST_PARTS.items():
            checks += 1
            if not pattern.search(everything):
                issues.append(ValidationIssue(code=code, message=f"the quest does not state its {part}"))
        asm = [b for b in code_blocks(answer) if b.is_asm]
        code_text = "\n".join(b.code for b in asm)
        impl_checks = (
            ("impl_missing_code", bool(asm), "the implementation has no asm code block"),
            ("impl_missing_hook", bool(HOOK.search(answer)), "name the hook point (an org or 'hook' with an address)"),
            ("impl_missing_flag", bool(FLAG.search(answer)), "name the RAM/SRAM flag the quest sets or checks"),
            ("impl_missing_text_id", bool(TEXT_ID.search(answer)), "name the message/text id the quest shows"),
        )
        for code, ok, message in impl_checks:
            checks += 1
            if not ok:
                issues.append(ValidationIssue(code=code, message=message, location=IssueLocation(turn=turn)))
        return self.result(issues, 1.0 - len(issues) / checks, {"asm_lines": code_text.count("\n")})


register(QuestStructure())

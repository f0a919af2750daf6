"""``asm_behaviour``: the planted bug misbehaves and the fix does not, when the CPU runs them.

A quest proposal carries its routines (``metadata.routine_code``) and scenarios instead: a fresh save,
the step, the reward paid once, nothing written outside the quest's bytes; every scenario must hold.

A debugging proposal that carries an executable spec (``metadata.behaviour``, a
:class:`~curation.asm.behaviour.BehaviourSpec` its template wrote from the same draw as the code) is
run in the 65816 interpreter twice: the buggy code must fail the spec - otherwise the dialogue
explains a mechanism the CPU does not perform - and the fixed code must pass it - otherwise the fix
does not fix. The issues say which scenario failed and how (the bytes expected and found, the
instruction and register widths where the CPU stopped). Samples without a spec (field data) are not
judged here: an info says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

from curation.asm.behaviour import BehaviourSpec, run_spec
from curation.validators.asar import Asar
from curation.validators.base import Validator, register
from schemas.sample import Kind, SampleRevision
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult

_SHOWN = 3


class AsmBehaviour(Validator):
    name = "asm_behaviour"
    version = "1"
    description = "runs the buggy code and the fix on the proposal's spec: the bug fails it, the fix passes"
    required_for = (Kind.debug_dialogue, Kind.quest_implementation)
    rank = 70

    @cached_property
    def asar(self) -> Asar:
        return Asar()

    def validate_many(self, revisions: Sequence[SampleRevision]) -> list[ValidationResult]:
        """Each spec costs two Asar runs (processes): two at a time keep both cores busy."""
        if len(revisions) < 4:
            return [self.validate(r) for r in revisions]
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(self.validate, revisions))

    def validate(self, revision: SampleRevision) -> ValidationResult:
        spec_json = revision.metadata.get("behaviour")
        buggy, fixed = revision.metadata.get("buggy_code"), revision.metadata.get("fixed_code")
        routines = revision.metadata.get("routine_code")
        if spec_json and routines:
            return self._scenarios(BehaviourSpec.from_json(spec_json), routines, len(revision.messages) - 1)
        if not spec_json or not buggy or not fixed:
            return self.result([ValidationIssue(code="no_spec", severity="info", message="no executable spec")], 1.0)
        spec = BehaviourSpec.from_json(spec_json)
        turn = len(revision.messages) - 1
        issues: list[ValidationIssue] = []
        bug = run_spec(buggy, spec, self.asar)
        fix = run_spec(fixed, spec, self.asar)
        if not bug.assembled or not fix.assembled:
            which = "the buggy code" if not bug.assembled else "the fix"
            issues.append(
                ValidationIssue(code="spec_not_runnable", message=f"{which} cannot run: {bug.error or fix.error}")
            )
        if bug.passed:
            issues.append(
                ValidationIssue(
                    code="bug_does_not_misbehave",
                    message=f"the buggy code passes every scenario of its spec ({len(spec.scenarios)}): the CPU does "
                    "not do what the dialogue says goes wrong",
                    location=IssueLocation(turn=0),
                )
            )
        if fix.assembled and fix.failures:
            shown = "; ".join(str(f) for f in fix.failures[:_SHOWN])
            issues.append(
                ValidationIssue(
                    code="fix_fails_spec",
                    message=f"the fix still fails: {shown}",
                    location=IssueLocation(turn=turn),
                )
            )
        details = {
            "scenarios": len(spec.scenarios),
            "buggy_failures": [str(f) for f in bug.failures[:_SHOWN]],
            "fix_failures": [str(f) for f in fix.failures[:_SHOWN]],
            "instructions": bug.instructions + fix.instructions,
        }
        return self.result(issues, 0.0 if issues else 1.0, details)

    def _scenarios(self, spec: BehaviourSpec, code: str, turn: int) -> ValidationResult:
        """A quest's routines played through (fresh save, the step, the reward once): every scenario must hold."""
        outcome = run_spec(code, spec, self.asar)
        issues = []
        if not outcome.assembled:
            issues.append(
                ValidationIssue(code="spec_not_runnable", message=f"the routines cannot run: {outcome.error}")
            )
        elif outcome.failures:
            shown = "; ".join(str(f) for f in outcome.failures[:_SHOWN])
            issues.append(
                ValidationIssue(
                    code="scenario_fails",
                    message=f"{len(outcome.failures)} of the quest's scenarios fail when run: {shown}",
                    location=IssueLocation(turn=turn),
                )
            )
        details = {"scenarios": [s.name for s in spec.scenarios], "instructions": outcome.instructions}
        return self.result(issues, 0.0 if issues else 1.0, details)


register(AsmBehaviour())

"""``terminology``: a diagnosis of a known bug category names the terms that category needs.

Whole words and whole register tokens only (see ``terms.py``); each missing group is reported, and
the validator fails below the field's 0.6 coverage mark.
"""

from __future__ import annotations

from curation.validators.base import Validator, register
from curation.validators.terms import PASS_THRESHOLD, terms_for
from schemas.sample import Kind, SampleRevision
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult


class Terminology(Validator):
    name = "terminology"
    version = "1"
    description = "the diagnosis names the terms its bug category needs (whole words)"
    required_for = (Kind.debug_dialogue,)
    rank = 80

    def validate(self, revision: SampleRevision) -> ValidationResult:
        groups = terms_for(revision.category)
        if not groups:
            code, what = (
                ("no_category", "no category")
                if not revision.category
                else ("no_terms_for_category", f"no term list for category {revision.category!r}")
            )
            return self.result(
                [ValidationIssue(code=code, severity="info", message=f"{what}; nothing to check")],
                1.0,
                {"checked": False},
            )
        answer = revision.answer
        found = [g for g in groups if g.found_in(answer)]
        missing = [g for g in groups if not g.found_in(answer)]
        score = len(found) / len(groups)
        turn = len(revision.messages) - 1
        issues = [
            ValidationIssue(
                code="missing_term",
                severity="warning",
                location=IssueLocation(turn=turn),
                message=f"a {revision.category} diagnosis usually names {g.label}",
            )
            for g in missing
        ]
        if score < PASS_THRESHOLD:
            issues.insert(
                0,
                ValidationIssue(
                    code="insufficient_terminology",
                    location=IssueLocation(turn=turn),
                    message=f"names {len(found)} of {len(groups)} term groups for {revision.category} "
                    f"(needs {PASS_THRESHOLD:.0%}); missing: {', '.join(g.label for g in missing)}",
                ),
            )
        return self.result(
            issues, score, {"checked": True, "found": [g.label for g in found], "missing": [g.label for g in missing]}
        )


register(Terminology())

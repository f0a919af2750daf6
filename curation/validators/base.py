"""The validator interface and its registry.

A validator has a ``name`` and a ``version`` and turns a revision into a ``ValidationResult``.
Results are stored per (revision, validator, version): revisions are immutable, so a stored result
stays true until the validator's version changes - bump ``version`` whenever its verdicts would.
Validators that gain from seeing many revisions at once (the assembler) override ``validate_many``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from schemas.sample import SampleRevision
from schemas.validation import ValidationIssue, ValidationResult


class Validator(ABC):
    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def validate(self, revision: SampleRevision) -> ValidationResult: ...

    def validate_many(self, revisions: Sequence[SampleRevision]) -> list[ValidationResult]:
        return [self.validate(r) for r in revisions]

    def result(
        self, issues: list[ValidationIssue], score: float, details: dict[str, Any] | None = None
    ) -> ValidationResult:
        """Passed means no error-severity issue; warnings and infos only lower the score."""
        return ValidationResult(
            validator=self.name,
            version=self.version,
            passed=not any(i.severity == "error" for i in issues),
            score=round(min(1.0, max(0.0, score)), 4),
            issues=issues,
            details=details or {},
        )


REGISTRY: dict[str, Validator] = {}


def register(validator: Validator) -> Validator:
    if validator.name in REGISTRY:
        raise ValueError(f"validator {validator.name!r} is registered twice")
    REGISTRY[validator.name] = validator
    return validator


def get_validator(name: str) -> Validator:
    from curation.validators import load_builtin

    load_builtin()
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown validator {name!r}; known: {', '.join(sorted(REGISTRY))}") from None

"""The validator interface and its registry.

A validator has a ``name`` and a ``version`` and turns a revision into a ``ValidationResult``.
Results are stored per (revision, validator, version): revisions are immutable, so a stored result
stays true until the validator's version changes - bump ``version`` whenever its verdicts would.
Validators that gain from seeing many revisions at once (the assembler) override ``validate_many``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from curation.rommap import RomMap, load_rom_map
from curation.workspace import Workspace, WorkspacePaths
from schemas.sample import Kind, SampleRevision
from schemas.validation import ValidationIssue, ValidationResult


class Validator(ABC):
    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str] = ""
    # Which kinds of sample it judges, declared where it is written (``profiles.py`` collects them): a
    # *required* validator decides whether a sample of that kind passes, an *advisory* one only reports.
    required_for: ClassVar[tuple[Kind, ...]] = ()
    advisory_for: ClassVar[tuple[Kind, ...]] = ()
    # Where it stands in a kind's list (reports read in this order): form first, then code, then text.
    rank: ClassVar[int] = 100

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


@dataclass(frozen=True)
class ValidationContext:
    """What a validator may know besides the sample: the workspace's ROM map (None before
    ``triforge rom-map build``). Validators that read it derive from :class:`ContextValidator`."""

    rom_map: RomMap | None = None

    @classmethod
    def of_home(cls, home: Path) -> ValidationContext:
        return cls(load_rom_map(WorkspacePaths(home).rom_map))

    @classmethod
    def of_workspace(cls, workspace: Workspace) -> ValidationContext:
        return cls.of_home(workspace.home)


class ContextValidator(Validator):
    """A validator whose verdict depends on the workspace (the ROM map), not on the sample alone.
    Its stored results are forgotten when the map is rebuilt (``Validations.forget``)."""

    def validate(self, revision: SampleRevision) -> ValidationResult:
        return self.validate_in(revision, ValidationContext())

    @abstractmethod
    def validate_in(self, revision: SampleRevision, context: ValidationContext) -> ValidationResult: ...

    def validate_many_in(
        self, revisions: Sequence[SampleRevision], context: ValidationContext
    ) -> list[ValidationResult]:
        return [self.validate_in(r, context) for r in revisions]


REGISTRY: dict[str, Validator] = {}


def register(validator: Validator) -> Validator:
    if validator.name in REGISTRY:
        raise ValueError(f"validator {validator.name!r} is registered twice")
    REGISTRY[validator.name] = validator
    return validator

"""``triforge propose repairs``: restructure failing answers (or have a model rewrite them), keep only
rewrites that pass, link them.

Candidates are the undecided samples of a kind whose profile requires ``diagnosis_first`` that fail
validation. Each is restructured (``compose.py``; the category is named in the header when the
terminology validator still wants it, ``category.py``), the rewrite is checked to keep every code
block byte-identical, and the kind's required validators run on it. Only a rewrite that passes them
all is written: a new revision whose parent is the original, status ``proposed``, provenance
``template:repair@1``, metadata ``repair_of`` and ``repair.fixed``. The original is *not* superseded -
a repair is a suggestion, and an expert reviewing the original in Argilla sees it as the suggested
correction. Revision ids are content hashes, so running it again writes nothing new.

With a model (``model.py``), the candidates restructuring left unrepaired are rewritten by a teacher
or bootstrap model instead, under the same code guard and validators; each outcome says which path
(``deterministic`` or ``model``) made its repair.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from curation.repairs.candidates import code_difference
from curation.repairs.category import bug_type_with_category
from curation.repairs.compose import restructure
from curation.repairs.legacy import NotRestructurable, parse_legacy
from curation.samples import derive_revision, revision_from_row
from curation.validators.profiles import profiles
from curation.validators.runner import failed_required, record_results, run_profile, validate_samples
from curation.workspace import Workspace
from schemas.sample import Provenance, SampleRevision, SourceType
from schemas.validation import ValidationResult

Progress = Callable[[str, int, int], None]


class ModelRewriter(Protocol):
    """Rewrites what restructuring could not: ``pipelines.repair.ModelRepairer`` (a teacher endpoint or
    a bootstrapped model). Passed in, so curation never imports a proposer."""

    def repair(
        self,
        workspace: Workspace,
        todo: list[tuple[RepairOutcome, SampleRevision]],
        *,
        repairer_name: str,
        progress: Progress | None = None,
    ) -> Any: ...


REPAIRER = "repair"
REPAIRER_VERSION = "1"
REPAIR_SOURCE = f"{REPAIRER}@{REPAIRER_VERSION}"
OPEN_STATUSES = ("draft", "proposed", "in_review")


@dataclass
class RepairOutcome:
    parent_id: str
    variant: str | None  # diagnosis_first's verdict on the original: legacy | none | full
    repair_id: str | None = None
    new: bool = False
    reason: str | None = None  # why there is no repair
    detail: str | None = None
    fixed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the passing rewrite is still warned about
    path: str = "deterministic"  # deterministic | model: the last path that tried (and the one that repaired)
    deterministic_reason: str | None = None  # why restructuring did not repair it
    model_reason: str | None = None  # why the model's rewrite was not written (model path only)
    source_name: str | None = None  # the repair's source (repair@1, or repair@1/openai:MODEL)


@dataclass
class RepairReport:
    outcomes: list[RepairOutcome] = field(default_factory=list)
    rewritten: int = 0  # a restructuring was made (whether or not it then passed)
    model: Any = None  # the model's summary (pipelines.repair.ModelSummary) when one rewrote the rest

    @property
    def candidates(self) -> int:
        return len(self.outcomes)

    @property
    def passed(self) -> int:
        return sum(o.repair_id is not None for o in self.outcomes)

    @property
    def new(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def failures(self) -> Counter:
        return Counter(o.reason for o in self.outcomes if o.reason)

    def by_variant(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            entry = out.setdefault(o.variant or "unknown", {"candidates": 0, "passed": 0})
            entry["candidates"] += 1
            entry["passed"] += o.repair_id is not None
        return out

    def by_path(self) -> dict[str, dict[str, Any]]:
        """Per path: how many it tried, repaired (new this run or before), and why the rest failed."""
        det = self.outcomes
        out: dict[str, dict[str, Any]] = {
            "deterministic": {
                "tried": len(det),
                "passed": sum(o.repair_id is not None and o.path == "deterministic" for o in det),
                "new": sum(o.new and o.path == "deterministic" for o in det),
                "failures": dict(Counter(o.deterministic_reason for o in det if o.deterministic_reason).most_common()),
            }
        }
        if self.model is not None:
            tried = [o for o in self.outcomes if o.path == "model"]
            out["model"] = {
                **self.model.as_dict(),
                "passed": sum(o.repair_id is not None for o in tried),
                "new": sum(o.new for o in tried),
                "failures": dict(Counter(o.model_reason for o in tried if o.model_reason).most_common()),
            }
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidates": self.candidates,
            "rewritten": self.rewritten,
            "passed": self.passed,
            "proposed": self.new,
            "existing": self.passed - self.new,
            "failures": dict(self.failures.most_common()),
            "by_variant": self.by_variant(),
            "by_path": self.by_path(),
            "repairs": [o.__dict__ for o in self.outcomes],
        }


def repairable_kinds() -> list[str]:
    """The kinds whose profile requires the diagnosis-first shape: the only shape this repairs."""
    return sorted(kind.value for kind, profile in profiles().items() if "diagnosis_first" in profile.required)


def candidate_filter(where: str | None) -> str:
    """The samples worth trying: undecided, of a diagnosis-first kind, not themselves repairs (by either path)."""
    kinds, statuses = ", ".join(repairable_kinds()), ", ".join(OPEN_STATUSES)
    base = (
        f"kind in ({kinds}) and status in ({statuses}) and source_name != {json.dumps(REPAIR_SOURCE)} "
        "and metadata.repair_of is null"
    )
    return f"({base}) and ({where})" if where and where.strip() else base


def _variants(workspace: Workspace, ids: list[str]) -> dict[str, str | None]:
    """revision id -> the bug template variant diagnosis_first recognised in it (what a repair restructures)."""
    return workspace.validations.detail("diagnosis_first", "variant", ids)


def _child(parent_id: str, original: SampleRevision, answer: str, fixed: list[str]) -> SampleRevision:
    return derive_revision(
        parent_id,
        original,
        answer=answer,
        metadata={
            **original.metadata,
            "repair_of": parent_id,
            "repair": {"by": REPAIR_SOURCE, "path": "deterministic", "fixed": fixed},
        },
        provenance=Provenance(
            source_type=SourceType.template,
            source_name=REPAIR_SOURCE,
            original={
                "repair_of": parent_id,
                "fixed": fixed,
                "parent_source": f"{original.provenance.source_type}:{original.provenance.source_name}",
            },
        ),
    )


def _attempt(
    workspace: Workspace, parent_id: str, original: SampleRevision
) -> tuple[SampleRevision, list[ValidationResult], list[ValidationResult]]:
    """The best rewrite: plain, or with the category named if terminology is what still fails.
    Returns (child, results, failed results); raises NotRestructurable."""

    rewrite = restructure(original.answer, original.prompt)
    if code_difference(original.answer, rewrite.answer) is not None:  # a guard: restructuring never touches code
        raise NotRestructurable("code_changed", "the rewrite's code blocks differ from the original's")
    child = _child(parent_id, original, rewrite.answer, rewrite.fixed)
    results = run_profile(child, workspace)
    failed = failed_required(child, results)
    if [r.validator for r in failed] == ["terminology"]:
        named = bug_type_with_category(parse_legacy(original.answer).bug_type, original.category)
        if named is not None:
            renamed = restructure(original.answer, original.prompt, bug_type=named)
            alt = _child(parent_id, original, renamed.answer, [*renamed.fixed, "category_named"])
            alt_results = run_profile(alt, workspace)
            if not failed_required(alt, alt_results):
                return alt, alt_results, []
    return child, results, failed


def propose_repairs(
    workspace: Workspace,
    where: str | None = None,
    *,
    model: ModelRewriter | None = None,
    progress: Progress | None = None,
) -> RepairReport:
    """Restructure every failing candidate matching ``where``; write the rewrites that pass. With
    ``model``, the candidates restructuring did not repair are rewritten by that model (``model.py``)."""

    flt_text = candidate_filter(where)
    validate_samples(workspace, flt_text)  # results already stored are reused: this only fills gaps
    rows = workspace.samples.rows(f"({flt_text}) and validation = failed", oldest_first=True)
    variants = _variants(workspace, [r["id"] for r in rows])
    report = RepairReport()
    passing: list[tuple[RepairOutcome, SampleRevision, list[ValidationResult]]] = []
    unrepaired: list[tuple[RepairOutcome, SampleRevision]] = []
    for row in rows:
        outcome = RepairOutcome(parent_id=row["id"], variant=variants.get(row["id"]))
        report.outcomes.append(outcome)
        original = revision_from_row(row)
        try:
            child, results, failed = _attempt(workspace, row["id"], original)
        except NotRestructurable as exc:
            outcome.reason, outcome.detail = exc.reason, str(exc)
            outcome.deterministic_reason = exc.reason
            unrepaired.append((outcome, original))
            continue
        report.rewritten += 1
        outcome.fixed = list(child.metadata["repair"]["fixed"])
        if failed:
            outcome.reason = "still_fails:" + ",".join(r.validator for r in failed)
            outcome.deterministic_reason = outcome.reason
            outcome.detail = "; ".join(
                f"{r.validator}: {i.code}" for r in failed for i in r.issues if i.severity == "error"
            )
            unrepaired.append((outcome, original))
            continue
        outcome.warnings = sorted(
            {f"{r.validator}:{i.code}" for r in results for i in r.issues if i.severity == "warning"}
        )
        passing.append((outcome, child, results))
    if passing:
        with workspace.transaction():
            for outcome, child, _ in passing:
                outcome.repair_id, outcome.source_name = child.id, REPAIR_SOURCE
                outcome.new = workspace.samples.write_child(
                    child, actor=REPAIR_SOURCE, status="proposed", import_id=f"repair:{outcome.parent_id[:12]}"
                )
            record_results(workspace, [(child.id, child.kind, results) for _, child, results in passing])
    if model is not None:
        for outcome, _ in unrepaired:  # the model's rewrite replaces the restructuring's attempt
            outcome.fixed = []
        report.model = model.repair(workspace, unrepaired, repairer_name=REPAIR_SOURCE, progress=progress)
    return report

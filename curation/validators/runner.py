"""Run validators over the store and keep their verdicts.

Results are keyed by (revision, validator, version). Revisions never change, so a result already
stored for the validator's current version is reused: re-running ``triforge validate`` on an
unchanged store assembles nothing. After running, each revision's summary is recomputed from its
kind's profile - passed when every required validator passed - and the ``samples`` view exposes it
as ``validation`` (passed / failed / pending) for filters and snapshots.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from curation.clock import utc_now
from curation.resources.validations import Validations
from curation.samples import revision_from_row
from curation.validators import load_builtin
from curation.validators.asar import AsmOutcome
from curation.validators.asm_assembles import AsmAssembles
from curation.validators.base import REGISTRY, ContextValidator, ValidationContext, Validator
from curation.validators.profiles import profile_for
from curation.workspace import Workspace
from schemas.sample import SampleRevision
from schemas.validation import ValidationResult

CHUNK = 512


class StoreAsmCache:
    """The assembler cache in the store, so a snippet is assembled once per Asar version, ever."""

    def __init__(self, validations: Validations) -> None:
        self.validations = validations

    def get_many(self, keys: Sequence[str]) -> dict[str, AsmOutcome]:
        if not keys:
            return {}
        rows = self.validations.cached_outcomes(keys)
        return {k: AsmOutcome.from_json(json.loads(o)) for k, o in rows}

    def put_many(self, entries: dict[str, AsmOutcome]) -> None:
        if not entries:
            return
        now = utc_now()
        rows = [[k, json.dumps(o.to_json()), now] for k, o in entries.items()]
        self.validations.cache_outcomes(rows)


@dataclass
class ValidatorStats:
    ran: int = 0
    reused: int = 0
    passed: int = 0
    failed: int = 0
    issue_codes: Counter = field(default_factory=Counter)

    @property
    def pass_rate(self) -> float | None:
        total = self.passed + self.failed
        return self.passed / total if total else None


@dataclass
class ValidationRun:
    samples: int = 0
    passed: int = 0
    failed: int = 0
    validators: dict[str, ValidatorStats] = field(default_factory=dict)

    def top_issues(self, n: int = 10) -> list[tuple[str, str, int]]:
        rows = [(v, code, c) for v, s in self.validators.items() for code, c in s.issue_codes.items()]
        return sorted(rows, key=lambda r: (-r[2], r[0], r[1]))[:n]

    def as_dict(self) -> dict:
        return {
            "samples": self.samples,
            "passed": self.passed,
            "failed": self.failed,
            "validators": {
                name: {
                    "ran": s.ran,
                    "reused": s.reused,
                    "passed": s.passed,
                    "failed": s.failed,
                    "pass_rate": s.pass_rate,
                    "issue_codes": dict(s.issue_codes.most_common()),
                }
                for name, s in self.validators.items()
            },
            "top_issues": [{"validator": v, "code": c, "count": n} for v, c, n in self.top_issues()],
        }


def _validators_for(revision: SampleRevision, only: set[str] | None) -> list[Validator]:
    names = profile_for(revision.kind).validators
    return [REGISTRY[n] for n in names if only is None or n in only]


def _run_validator(
    validator: Validator,
    revisions: list[SampleRevision],
    workspace: Workspace | None,
    context: ValidationContext,
) -> list[ValidationResult]:
    if isinstance(validator, AsmAssembles) and workspace is not None:
        return validator.validate_many(revisions, cache=StoreAsmCache(workspace.validations))
    if isinstance(validator, ContextValidator):
        return validator.validate_many_in(revisions, context)
    return validator.validate_many(revisions)


def validate_samples(
    workspace: Workspace,
    where: str | None = None,
    *,
    only: Sequence[str] | None = None,
    force: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> ValidationRun:
    """Validate the samples matching ``where``; returns per-validator figures over those samples."""
    load_builtin()
    wanted = set(only) if only else None
    if wanted:
        unknown = wanted - set(REGISTRY)
        if unknown:
            raise KeyError(f"unknown validator(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(REGISTRY))}")
    context = ValidationContext.of_workspace(workspace)
    rows = workspace.samples.rows(where)
    done = workspace.validations.judged(where) if rows and not force else set()

    run = ValidationRun(samples=len(rows))
    for start in range(0, len(rows), CHUNK):
        chunk = [(row["id"], revision_from_row(row)) for row in rows[start : start + CHUNK]]
        todo: dict[str, list[tuple[str, SampleRevision]]] = {}
        for rid, rev in chunk:
            for validator in _validators_for(rev, wanted):
                stats = run.validators.setdefault(validator.name, ValidatorStats())
                if (rid, validator.name, validator.version) in done:
                    stats.reused += 1
                else:
                    todo.setdefault(validator.name, []).append((rid, rev))
        batch: list[list] = []
        for name, items in todo.items():
            validator = REGISTRY[name]
            results = _run_validator(validator, [rev for _, rev in items], workspace, context)
            run.validators[name].ran += len(items)
            now = utc_now()
            batch += [_result_row(rid, result, now) for (rid, _), result in zip(items, results, strict=True)]
        if batch:
            workspace.validations.add_results(batch)
        if on_progress:
            on_progress(min(start + CHUNK, len(rows)), len(rows))

    _summarise(workspace.validations, rows, run, wanted)
    return run


def _result_row(revision_id: str, result: ValidationResult, now: datetime) -> list:
    """A ``validation_results`` row, in RESULT_COLUMNS order."""
    return [
        revision_id,
        result.validator,
        result.version,
        result.passed,
        result.score,
        json.dumps([i.model_dump(exclude_none=True) for i in result.issues]),
        json.dumps(result.details),
        now,
    ]


def record_results(workspace: Workspace, items: Sequence[tuple[str, str, list[ValidationResult]]]) -> None:
    """Store results computed outside ``validate_samples`` (e.g. by the submissions service) and
    refresh those revisions' summaries. ``items`` are (revision id, kind, results)."""
    now = utc_now()
    rows = [_result_row(rid, r, now) for rid, _, results in items for r in results]
    workspace.validations.add_results(rows)
    _summarise(workspace.validations, [{"id": rid, "kind": kind} for rid, kind, _ in items], ValidationRun(), None)


def current_versions() -> dict[str, str]:
    """Every registered validator's current version: the results that count as verdicts."""
    load_builtin()
    return {name: validator.version for name, validator in REGISTRY.items()}


def current_results(workspace: Workspace, revision_id: str) -> list[ValidationResult]:
    """One revision's stored verdicts at each validator's current version (what ``samples show`` prints)."""
    return workspace.validations.results(revision_id, current_versions())


def run_profile(
    revision: SampleRevision,
    workspace: Workspace | None = None,
    *,
    substitutes: Mapping[str, Validator] | None = None,
    context: ValidationContext | None = None,
) -> list[ValidationResult]:
    """Every validator of the revision's profile, on one revision (the service's instant feedback).

    ``substitutes`` replaces registered validators by name with differently configured instances of
    the same check - the service's assembler, with a short timeout for untrusted code - so the rules
    stay one and only their limits differ. Without a workspace nothing here touches the database, so
    a caller may judge in worker threads while another thread writes; ``context`` (default: the
    workspace's, or none) carries the ROM map."""
    load_builtin()
    if context is None:
        context = ValidationContext.of_workspace(workspace) if workspace is not None else ValidationContext()
    results = []
    for validator in _validators_for(revision, None):
        validator = (substitutes or {}).get(validator.name, validator)
        results += _run_validator(validator, [revision], workspace, context)
    return results


def failed_required(revision: SampleRevision, results: list[ValidationResult]) -> list[ValidationResult]:
    """The results of the kind's *required* validators that failed: the ``samples`` view's pass rule."""
    required = set(profile_for(revision.kind).required)
    return [r for r in results if r.validator in required and not r.passed]


@dataclass(frozen=True)
class Judgement:
    """One revision judged by its kind's profile: every result, and the required ones that failed."""

    results: list[ValidationResult]
    failed_required: list[ValidationResult]

    @property
    def passed(self) -> bool:
        return not self.failed_required

    @property
    def failed(self) -> list[str]:
        return [r.validator for r in self.results if not r.passed]


def judge(
    revision: SampleRevision,
    workspace: Workspace | None = None,
    *,
    substitutes: Mapping[str, Validator] | None = None,
    context: ValidationContext | None = None,
) -> Judgement:
    """Run the profile on one revision and apply the same pass rule as the ``samples`` view (every
    *required* validator passed), so a submission, a correction and a repair are judged alike."""
    results = run_profile(revision, workspace, substitutes=substitutes, context=context)
    return Judgement(results, failed_required(revision, results))


def _summarise(validations: Validations, rows: list[dict], run: ValidationRun, only: set[str] | None) -> None:
    """Recompute each revision's summary from its current-version results; fill the run's figures."""
    if not rows:
        return
    ids = [row["id"] for row in rows]
    results: dict[str, dict[str, tuple[bool, float, list]]] = {}
    current = current_versions()
    for rid, name, version, passed, score, issues in validations.result_rows(ids):
        if current.get(name) == version:
            results.setdefault(rid, {})[name] = (passed, score, json.loads(issues))
    summaries = []
    now = utc_now()
    for row in rows:
        rid = row["id"]
        profile = profile_for(row["kind"])
        mine = results.get(rid, {})
        for name in profile.validators:
            if name in mine and (only is None or name in only):
                stats = run.validators.setdefault(name, ValidatorStats())
                passed, _, issues = mine[name]
                stats.passed += passed
                stats.failed += not passed
                stats.issue_codes.update(i["code"] for i in issues if i.get("severity", "error") != "info")
        if not all(name in mine for name in profile.required):
            continue  # some required validator has not run at its current version: still pending
        failed = [name for name in profile.required if not mine[name][0]]
        score = sum(mine[name][1] for name in profile.required) / len(profile.required)
        summaries.append([rid, profile.name, not failed, round(score, 4), json.dumps(failed), now])
        run.passed += not failed
        run.failed += bool(failed)
    if summaries:
        validations.add_summaries(summaries)

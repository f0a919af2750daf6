"""Running a suite against a model (or scoring responses someone already has), storing and comparing runs.

Both rules score every response, so a table shows at a glance where the original substring rule
flattered a model. Runs are stored per case, which is what makes ``eval compare`` exact: it lines up
the same (suite, case) pairs, never averages of different case sets.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curation.clock import utc_now
from curation.contamination import PromptCase, find_leaks
from curation.errors import Invalid, StoreError
from curation.eval_suites import load_suite_file
from curation.resources.evals import EvalRunSummary, PairedCase
from curation.validators.base import ValidationContext
from curation.workspace import Workspace
from schemas.training import CaseScore, EvalCase
from trainer.base_models import ALIASES
from trainer.evaluation.gold import GOLD_SUITE, AnswerLoss, GoldCase, answer_losses
from trainer.evaluation.scorers import METRICS, CaseResult, higher_is_better, score_cases, summarise
from trainer.evaluation.scoring import RULES
from trainer.evaluation.stats import NO_CHANGE, paired_bootstrap
from trainer.generation import load_model

RULE_NAMES = tuple(RULES)
__all__ = ["CaseResult", "EvalReport", "PairedCase"]


@dataclass
class EvalReport:
    id: str
    model: str
    suite_file: str
    suite_sha256: str
    generation: dict[str, Any]
    results: list[CaseResult] = field(default_factory=list)
    training_run_id: str | None = None
    created_at: datetime = field(default_factory=utc_now)
    include_contaminated: bool = False
    trained_on: str | None = None  # the snapshot an evaluated adapter learned from (its manifest says)

    def counted(self, results: list[CaseResult]) -> list[CaseResult]:
        return [r for r in results if self.include_contaminated or not r.contaminated]

    def summary(self) -> dict[str, Any]:
        """Per suite and overall: cases, each keyword rule's mean and passes, and every metric's mean and n.

        Contaminated cases (found in the adapter's training snapshot) are counted apart and left out."""
        groups: dict[str, list[CaseResult]] = {}
        for r in self.results:
            groups.setdefault(r.case.suite, []).append(r)
        groups_all = {**groups, "ALL": self.results}
        out: dict[str, Any] = {}
        for name, every in groups_all.items():
            rs = self.counted(every)
            out[name] = {"cases": len(rs), "contaminated": sum(r.contaminated for r in every)}
            rs = [r for r in rs if r.case.expected_keywords]  # the keyword rules' means: cases that have keywords
            for rule in RULE_NAMES:
                out[name][rule] = {
                    "mean_score": round(sum(r.scores[rule].score for r in rs) / len(rs), 4) if rs else 0.0,
                    "passed": sum(r.scores[rule].passed for r in rs),
                }
            out[name]["metrics"] = summarise(every, include_contaminated=self.include_contaminated)
        return out

    def by_category(self) -> dict[str, Any]:
        groups: dict[str, list[CaseResult]] = {}
        for r in self.results:
            groups.setdefault(r.case.category or "(none)", []).append(r)
        return {
            name: summarise(rs, include_contaminated=self.include_contaminated) for name, rs in sorted(groups.items())
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "training_run_id": self.training_run_id,
            "suite_file": self.suite_file,
            "suite_sha256": self.suite_sha256,
            "generation": self.generation,
            "created_at": self.created_at.replace(tzinfo=UTC).isoformat(),
            "summary": self.summary(),
            "categories": self.by_category(),
            "cases": [
                {
                    "suite": r.case.suite,
                    "name": r.case.name,
                    "category": r.case.category,
                    "kind": r.case.kind,
                    "contaminated": r.contaminated,
                    "response": r.response,
                    "metrics": r.metrics,
                    "findings": r.findings,
                }
                | {rule: r.scores[rule].model_dump() for rule in RULE_NAMES}
                for r in self.results
            ],
        }


def suite_sha256(path: Path | list[Path]) -> str:
    """One file's sha256; for several, the sha256 of their names and hashes (order-independent)."""
    if isinstance(path, list | tuple):
        if len(path) == 1:
            return suite_sha256(path[0])
        parts = sorted(f"{Path(p).name}:{suite_sha256(p)}" for p in path)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def suite_label(paths: Path | list[Path]) -> str:
    return ", ".join(str(p) for p in paths) if isinstance(paths, list | tuple) else str(paths)


def load_suites(paths: list[Path]) -> list[EvalCase]:
    """Cases of several suite files; a (suite, case) named twice is an error, not a silent overwrite."""
    cases: list[EvalCase] = []
    seen: set[tuple[str, str]] = set()
    for path in paths:
        for case in load_suite_file(path):
            if (case.suite, case.name) in seen:
                raise Invalid(f"{path}: case {case.suite}/{case.name} is already in another suite file")
            seen.add((case.suite, case.name))
            cases.append(case)
    return cases


def score_responses(
    cases: list[EvalCase], responses: dict[tuple[str, str], str], home: Path | None = None
) -> list[CaseResult]:
    """Score the answers; ``home``'s ROM map (if any) gives the quest metrics their map."""

    return score_cases(cases, responses, ValidationContext.of_home(home) if home is not None else None)


def read_responses(path: Path, cases: list[EvalCase]) -> dict[tuple[str, str], str]:
    """JSONL of ``{"name", "response"}`` (plus ``"suite"`` where case names repeat across suites)."""
    by_name: dict[str, list[EvalCase]] = {}
    for case in cases:
        by_name.setdefault(case.name, []).append(case)
    out: dict[tuple[str, str], str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            name, response = row["name"], row["response"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise Invalid(f"{path}:{number}: expected {{'name', 'response'}}: {exc}") from exc
        matches = [c for c in by_name.get(name, []) if row.get("suite") in (None, c.suite)]
        if len(matches) != 1:
            raise Invalid(f"{path}:{number}: case {name!r} matches {len(matches)} cases of the suite")
        if not isinstance(response, str):
            raise Invalid(f"{path}:{number}: response must be a string")
        out[(matches[0].suite, name)] = response
    return out


def generate_responses(
    chat_many: Callable[[list[list[dict[str, str]]]], list[str]],
    cases: list[EvalCase],
    *,
    batch_size: int = 1,
    on_case: Callable[[EvalCase], None] | None = None,
) -> dict[tuple[str, str], str]:
    """Answer every case, ``batch_size`` prompts per call (the generation settings say how many)."""
    out = {}
    for start in range(0, len(cases), batch_size):
        batch = cases[start : start + batch_size]
        answers = chat_many([[{"role": "user", "content": c.prompt}] for c in batch])
        for case, answer in zip(batch, answers, strict=True):
            out[(case.suite, case.name)] = answer
            if on_case:
                on_case(case)
    return out


def mark_contaminated(workspace: Workspace, results: list[CaseResult], snapshot_ids: list[str]) -> int:
    """Flag the cases whose prompt is in any of these snapshots' training prompts; returns how many."""
    prompts = [PromptCase(r.case.suite, r.case.name, r.case.prompt) for r in results]
    leaked = {(leak.eval_file, leak.eval_id) for sid in snapshot_ids for leak in find_leaks(workspace, sid, prompts)}
    for r in results:
        r.contaminated = (r.case.suite, r.case.name) in leaked
    return sum(r.contaminated for r in results)


def record_eval(workspace: Workspace, report: EvalReport, *, contamination_snapshots: list[str] | None = None) -> None:
    """Store a run and its cases. First the cases whose prompts are in training data are flagged: those of
    ``contamination_snapshots``, by default the snapshot the evaluated adapter was trained on."""
    snapshots = contamination_snapshots if contamination_snapshots is not None else [report.trained_on or ""]
    snapshots = [s for s in snapshots if s]
    if snapshots:
        try:
            ids = [workspace.snapshots.resolve(s).id for s in snapshots]
        except StoreError as exc:  # an adapter trained from another store: say so instead of guessing
            report.generation["contamination"] = f"not checked: {exc}"
        else:
            flagged = mark_contaminated(workspace, report.results, ids)
            report.generation["contamination"] = {"snapshots": ids, "cases_flagged": flagged}
    workspace.evals.record(report)


def new_eval_id() -> str:
    return uuid.uuid4().hex[:12]


def resolve_eval_run(workspace: Workspace, ref: str) -> str:
    """An eval run id (or unique prefix), or a model path/name: its latest run."""
    path = Path(ref).expanduser().resolve()
    # How a model may have been stored: as given, as a resolved adapter path, or by its base-model name.
    return workspace.evals.resolve(ref, model_names=(str(path), path.name, ALIASES.get(ref.lower(), ref)))


def list_eval_runs(workspace: Workspace) -> list[EvalRunSummary]:
    return workspace.evals.list()


def metric_deltas(
    cases: list[PairedCase], *, include_contaminated: bool = False, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Per metric: A's and B's means over the cases both can be scored on, B - A with its paired
    bootstrap 95% interval, the number of cases, and a verdict ("no measurable change" when 0 is inside)."""
    out: dict[str, dict[str, Any]] = {}
    counted = [c for c in cases if include_contaminated or not c.contaminated]
    for metric in METRICS:
        pairs = [(c.a[metric], c.b[metric]) for c in counted if None not in (c.a.get(metric), c.b.get(metric))]
        if not pairs:
            out[metric] = {"n": 0, "a": None, "b": None, "delta": None, "ci": None, "verdict": NO_CHANGE}
            continue
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        interval = paired_bootstrap(xs, ys, seed=seed)
        out[metric] = {
            "n": interval.n,
            "a": round(sum(xs) / len(xs), 4),
            "b": round(sum(ys) / len(ys), 4),
            "delta": round(interval.mean, 4),
            "ci": [round(interval.low, 4), round(interval.high, 4)],
            "verdict": interval.verdict(higher_is_better=higher_is_better(metric)),
        }
    return out


def compare_eval_runs(
    workspace: Workspace, a_ref: str, b_ref: str, *, include_contaminated: bool = False, seed: int = 0
) -> dict[str, Any]:
    """B minus A on the cases both runs scored: every metric with a paired bootstrap interval, overall, per
    suite and per category; and the keyword rules' per-case deltas. Contaminated cases are left out of
    every mean (in either run) unless ``include_contaminated``."""
    a, b = resolve_eval_run(workspace, a_ref), resolve_eval_run(workspace, b_ref)
    paired = workspace.evals.paired_cases(a, b)
    if not paired:
        raise StoreError(f"eval runs {a} and {b} share no cases")
    counted = [c for c in paired if include_contaminated or not c.contaminated]
    cases = [
        {
            "suite": c.suite,
            "name": c.name,
            "category": c.category,
            "contaminated": c.contaminated,
            "substring": _delta(c, "keyword_substring"),
            "word": _delta(c, "keyword_word"),
            "word_passed": {"a": bool(c.a["keyword_pass"]), "b": bool(c.b["keyword_pass"])},
        }
        for c in paired
    ]
    suites: dict[str, dict[str, Any]] = {}
    for name in [*sorted({c.suite for c in paired}), "ALL"]:
        mine = [c for c in counted if name in ("ALL", c.suite)]
        entry: dict[str, Any] = {"cases": len(mine)}
        scored = [c for c in mine if c.a["keyword_word"] is not None and c.b["keyword_word"] is not None]
        for rule, metric in (("substring", "keyword_substring"), ("word", "keyword_word")):
            a_mean = round(sum(c.a[metric] for c in scored) / len(scored), 4) if scored else 0.0
            b_mean = round(sum(c.b[metric] for c in scored) / len(scored), 4) if scored else 0.0
            entry[rule] = {"a": a_mean, "b": b_mean, "delta": round(b_mean - a_mean, 4)}
        entry["word_passed"] = {"a": sum(bool(c.a["keyword_pass"]) for c in scored),
                                "b": sum(bool(c.b["keyword_pass"]) for c in scored)}  # fmt: skip
        entry["metrics"] = metric_deltas(mine, include_contaminated=True, seed=seed)
        suites[name] = entry
    by_category: dict[str, list[PairedCase]] = {}
    for c in counted:
        by_category.setdefault(c.category or "(none)", []).append(c)
    categories = {
        name: metric_deltas(mine, include_contaminated=True, seed=seed) for name, mine in sorted(by_category.items())
    }
    return {
        "a": a,
        "b": b,
        "contaminated": sum(c.contaminated for c in paired),
        "include_contaminated": include_contaminated,
        "bootstrap": {"resamples": 2000, "confidence": 0.95, "seed": seed},
        "suites": suites,
        "categories": categories,
        "cases": cases,
    }


def _delta(c: PairedCase, metric: str) -> dict[str, float]:
    x, y = float(c.a[metric] or 0.0), float(c.b[metric] or 0.0)
    return {"a": x, "b": y, "delta": round(y - x, 4)}


def select_cases(cases: list[EvalCase], *, only: list[str] | None = None, limit: int | None = None) -> list[EvalCase]:
    """Keep the named suites (all when ``only`` is empty) and at most ``limit`` cases of each, in file order."""
    chosen = [c for c in cases if not only or c.suite in only]
    if limit is None:
        return chosen
    taken: dict[str, int] = {}
    kept = []
    for case in chosen:
        taken[case.suite] = taken.get(case.suite, 0) + 1
        if taken[case.suite] <= limit:
            kept.append(case)
    return kept


@dataclass(frozen=True)
class GenerationSettings:
    """How answers were generated; stored with every run so it can be repeated exactly."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 8

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def evaluate_model(
    model_ref: str | Path,
    suite_path: Path | list[Path],
    cases: list[EvalCase],
    *,
    max_new_tokens: int = 256,
    generation: GenerationSettings | None = None,
    on_loaded: Callable[[], None] | None = None,
    on_case: Callable[[EvalCase], None] | None = None,
    home: Path | None = None,
    gold: Sequence[GoldCase] = (),
) -> EvalReport:
    """Load a model or adapter, answer each case, score it with every metric (not yet stored: ``record_eval``
    also flags the cases found in the adapter's training snapshot). ``home`` is the workspace whose models
    folder holds a named base model such as ``smollm2``. ``gold`` cases are not answered: the model scores
    their reference answers (``gold_nll``, one forward pass each) and they join the report as suite "gold"."""

    settings = generation or GenerationSettings(max_new_tokens=max_new_tokens)
    loaded = load_model(model_ref, home=home)
    if on_loaded:
        on_loaded()
    report = EvalReport(
        new_eval_id(),
        str(loaded.adapter_dir) if loaded.adapter_dir else loaded.name,
        suite_label(suite_path),
        suite_sha256(suite_path),
        settings.as_dict() | {"base_model": loaded.base_model},
        training_run_id=(loaded.manifest or {}).get("run_id"),
        trained_on=(loaded.manifest or {}).get("snapshot_id"),
    )
    answers = generate_responses(
        lambda batch: [
            c.text
            for c in loaded.chat_many(
                batch,
                max_new_tokens=settings.max_new_tokens,
                temperature=settings.temperature,
                top_p=settings.top_p,
                seed=settings.seed,
            )
        ],
        cases,
        batch_size=settings.batch_size,
        on_case=on_case,
    )
    report.results = score_responses(cases, answers, home) + gold_results(answer_losses(loaded, gold), gold)
    return report


def gold_results(losses: Sequence[AnswerLoss], cases: Sequence[GoldCase]) -> list[CaseResult]:
    """Gold cases as report rows (``losses`` in the cases' order, as ``answer_losses`` gives them):
    ``gold_nll`` set, every generation metric not applicable."""
    blank = CaseScore(score=0.0, passed=False, found=[], missing=[], anti_found=[])
    results = []
    for case, loss in zip(cases, losses, strict=True):
        results.append(
            CaseResult(
                EvalCase(suite=GOLD_SUITE, name=case.name, prompt=case.prompt, expected_keywords=[],
                         category=case.category, kind="gold"),
                response="",
                scores={rule: blank for rule in RULE_NAMES},
                metrics={metric: None for metric in METRICS} | {"gold_nll": round(loss.nll, 5)},
                findings={"gold_nll": [f"{loss.tokens} reference tokens scored"]},
            )
        )  # fmt: skip
    return results

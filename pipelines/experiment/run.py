"""Running an experiment as resumable steps: evaluate the base, then train and evaluate every arm per seed.

Each step's outcome is a row in ``experiment_steps``; a finished step is never run again, one that
crashed or was killed is (``triforge train`` leaves no half-written adapter, an eval is stored in one
transaction). The store is opened only for the moments a step reads or records something, so a
training run of hours never holds the single-writer lock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from curation.errors import Invalid, NotFound
from curation.filters import compile_filter
from curation.resources.experiments import StepRecord
from curation.workspace import Workspace
from pipelines.base import briefly
from pipelines.experiment.plan import Arm, ExperimentPlan
from pipelines.experiment.steps import ArmRun, ModelEval
from trainer.evaluation.gold import GOLD_SUITE, GoldCase, gold_case, read_gold_file, write_gold_file

Say = Callable[[str], None]
Result = TypeVar("Result", ArmRun, ModelEval)
# What the report shows of each training run.
RUN_METRICS = ("first_loss", "last_loss", "loss_start", "loss_end", "eval_loss", "steps", "train_rows",
               "assistant_tokens", "wall_seconds")  # fmt: skip


@dataclass
class ExperimentOutcome:
    plan: ExperimentPlan
    report: dict[str, Any]
    json_path: Path
    html_path: Path
    ran: list[str]  # the steps this invocation ran (empty: everything was already done)


class StepLedger:
    """An experiment's plan and each step's status and result (``workspace.experiments``); the store is
    opened for each read or write and closed right after."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name

    def stored_plan(self) -> ExperimentPlan | None:
        with briefly(self.workspace, read_only=True) as ws:
            raw = ws.experiments.plan_json(self.name)
        return ExperimentPlan.model_validate_json(raw) if raw else None

    def save_plan(self, plan: ExperimentPlan) -> None:
        with briefly(self.workspace) as ws:
            ws.experiments.create(plan.name, plan.model_dump_json())

    def steps(self) -> dict[str, StepRecord]:
        with briefly(self.workspace, read_only=True) as ws:
            return ws.experiments.steps(self.name)

    def save(self, step: str, status: str, data: dict[str, Any], error: str | None = None) -> None:
        with briefly(self.workspace) as ws:
            ws.experiments.save_step(self.name, step, status, data, error)


_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$")


def parse_arm_filter(text: str) -> tuple[str, str]:
    """``LABEL=FILTER`` (the filter may hold ``=`` itself: the label ends at the first one)."""
    label, sep, where = text.partition("=")
    label, where = label.strip(), where.strip()
    if not sep or not _LABEL.match(label) or not where:
        raise Invalid(f'an arm is LABEL=FILTER, e.g. curated="validation = passed"; got {text!r}')
    compile_filter(where)  # a typo is an error now, not after the first arm has trained
    return label, where


def freeze_arms(
    workspace: Workspace, name: str, filters: list[tuple[str, str]], *, size: int | None = None, seed: int = 0
) -> list[Arm]:
    """One snapshot per arm, ``NAME-LABEL``, of what its filter selects now (``size``: a random ``size`` of
    each, the same for the same seed); a snapshot that already holds exactly those samples is reused under
    its own name (snapshots are immutable and named by content). An experiment already started with these
    arms resumes on the snapshots it froze then, whatever the store holds now; other arms are refused."""
    stored = StepLedger(workspace, name).stored_plan()
    requested = [(label, where, size) for label, where in filters]
    if stored is not None:
        if [a.request() for a in stored.arms] != requested:
            raise Invalid(
                f"experiment {name!r} already exists with other arms "
                f"({', '.join(f'{a.label}={a.where or a.snapshot_name}' for a in stored.arms)}); "
                "rerun it with the same arms, or choose a new name"
            )
        return list(stored.arms)
    _unique_labels([label for label, _ in filters])
    arms = []
    with briefly(workspace) as ws:
        for label, where in filters:
            snap = ws.snapshots.create(
                f"{name}-{label}", where, exist_ok=True, reuse_same_members=True, sample=size, sample_seed=seed
            )
            arms.append(Arm(label=label, snapshot_id=snap.id, snapshot_name=snap.name, where=where, size=size))
    return arms


def _unique_labels(labels: list[str]) -> None:
    if len(set(labels)) != len(labels) or "base" in labels:
        raise Invalid(f"arm labels must be unique and not 'base': {labels}")


@dataclass(frozen=True)
class FrozenGold:
    """A gold set frozen for an experiment: the file, its sha256, how many cases, how many were dropped
    because an arm holds their prompt (only when asked to drop them instead of refusing)."""

    path: Path
    sha256: str
    cases: int
    dropped: int = 0


def freeze_gold(workspace: Workspace, name: str, spec: str, *, dropping_overlap_with: list[Arm] = ()) -> FrozenGold:
    """The gold set as a file in the experiment's folder: ``spec`` is a JSONL file of chat rows, or a
    filter whose samples (prompt and approved answer) become the cases. ``dropping_overlap_with``: leave out
    the cases whose prompt these arms hold (exactly or nearly: a template can write two prompts alike);
    without it, :func:`refuse_gold_overlap` decides. An experiment already started from the same ``spec``
    keeps the cases it froze then."""
    stored = StepLedger(workspace, name).stored_plan()
    if stored is not None and stored.gold and stored.gold_source == spec:
        path = Path(stored.gold)
        return FrozenGold(path, stored.gold_sha256 or "", len(read_gold_file(path)))
    source = Path(spec).expanduser()
    if source.is_file():
        cases = read_gold_file(source)
    else:
        with briefly(workspace, read_only=True) as ws:
            ids = [row["id"] for row in ws.samples.list(spec, limit=100_000)]
            revisions = ws.samples.revisions(ids)
        if not revisions:
            raise Invalid(f"--gold {spec!r} is neither a file nor a filter that selects samples")
        cases = [
            gold_case(rid[:12], [m.model_dump(mode="json") for m in rev.messages], rev.category)
            for rid, rev in zip(ids, revisions, strict=True)
        ]
    overlap = gold_overlap(workspace, cases, list(dropping_overlap_with))
    kept = [case for case in cases if case.name not in overlap]
    if not kept:
        raise Invalid(f"every gold case of {spec!r} is in an arm's snapshot")
    path = workspace.paths.experiments / name / "gold.jsonl"
    return FrozenGold(path, write_gold_file(kept, path), len(kept), len(cases) - len(kept))


def gold_overlap(workspace: Workspace, gold: list[GoldCase], arms: list[Arm]) -> dict[str, str]:
    """The gold cases whose prompt an arm's snapshot holds, exactly or nearly (the check ``triforge
    contamination`` runs for eval suites): case name -> the first such arm's label."""
    from curation.contamination import PromptCase, find_leaks

    prompts = [PromptCase(GOLD_SUITE, case.name, case.prompt) for case in gold]
    found: dict[str, str] = {}
    with briefly(workspace, read_only=True) as ws:
        for arm in arms:
            for leak in find_leaks(ws.store, arm.snapshot_id, prompts):
                found.setdefault(leak.eval_id, arm.label)
    return found


def refuse_gold_overlap(workspace: Workspace, gold: list[GoldCase], arms: list[Arm]) -> None:
    """A gold case whose prompt is in an arm's training data scores memory, not skill: refuse the plan,
    naming the cases and the arm."""
    overlap = gold_overlap(workspace, gold, arms)
    if overlap:
        names = sorted(overlap)
        arm = next(a for a in arms if a.label == overlap[names[0]])
        raise Invalid(
            f"{len(names)} of {len(gold)} gold case(s) are in arm {arm.label}'s snapshot "
            f"({arm.snapshot_name}): {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}; hold them "
            "out of every arm (e.g. `split < 20` for the gold set, `split >= 20` in each arm's filter)"
        )


def resolve_arms(workspace: Workspace, refs: list[str]) -> list[Arm]:
    """``curated`` or ``label=snapshot``: each snapshot (name, id or prefix) under its report label."""
    arms = []
    with briefly(workspace, read_only=True) as ws:
        for ref in refs:
            label, _, snap_ref = ref.partition("=") if "=" in ref else (ref, "", ref)
            snapshot = ws.snapshots.resolve(snap_ref)
            arms.append(Arm(label=label, snapshot_id=snapshot.id, snapshot_name=snapshot.name))
    _unique_labels([a.label for a in arms])
    return arms


def settle_plan(ledger: StepLedger, requested: ExperimentPlan | None) -> ExperimentPlan:
    """The plan to run: the stored one when resuming, the requested one when new; a rerun with other
    settings is refused (start a new experiment name instead)."""
    stored = ledger.stored_plan()
    if stored is None:
        if requested is None:
            raise Invalid(f"no experiment {ledger.name!r}; give --snapshot or --arm (one per arm) to start it")
        ledger.save_plan(requested)
        return requested
    if requested is not None and (changed := stored.same_setup(requested)):
        raise Invalid(
            f"experiment {ledger.name!r} already exists with other settings ({', '.join(changed)}); "
            "rerun it with the same options (or none) to resume, or choose a new name"
        )
    return stored


def _loss_curve(log_history: list[dict[str, Any]]) -> list[list[float]]:
    return [[int(e["step"]), round(float(e["loss"]), 4)] for e in log_history if "loss" in e and "step" in e]


def run_experiment(
    workspace: Workspace,
    name: str,
    requested: ExperimentPlan | None = None,
    *,
    say: Say = print,
    on_step: Callable[[str, int, int], None] | None = None,
) -> ExperimentOutcome:
    """Run (or resume) every step, then write ``report.json`` and ``report.html`` under
    the workspace's ``experiments/NAME/``."""
    from pipelines.experiment.report import build_report, write_report
    from trainer.evaluation.runner import GenerationSettings, evaluate_model, load_suites, record_eval, select_cases
    from trainer.sft import train

    ledger = StepLedger(workspace, name)
    plan = settle_plan(ledger, requested)
    done = {k: v.data for k, v in ledger.steps().items() if v.done}
    suite_paths = [Path(p) for p in plan.suites]
    cases = select_cases(load_suites(suite_paths), limit=plan.limit)
    gold = read_gold_file(Path(plan.gold)) if plan.gold else []
    generation = GenerationSettings(**plan.generation)  # type: ignore[arg-type]
    arm_snapshots = [a.snapshot_id for a in plan.arms]
    out_dir = workspace.paths.experiments / plan.name
    ran: list[str] = []

    order = [plan.eval_step("base")]
    for seed in plan.seeds:
        for arm in plan.arms:
            order += [plan.train_step(arm, seed), plan.eval_step(arm.label, seed)]

    def step(key: str, kind: type[Result], fn: Callable[[], Result]) -> Result:
        if key in done:
            return kind.from_data(done[key])  # type: ignore[return-value]
        if on_step:
            on_step(key, order.index(key), len(order))
        ledger.save(key, "running", {})
        clock = time.perf_counter()
        try:
            result = replace(fn(), seconds=round(time.perf_counter() - clock, 1))
        except BaseException as exc:
            ledger.save(key, "failed", {}, f"{type(exc).__name__}: {exc}")
            raise
        ledger.save(key, "done", result.as_data())
        done[key] = result.as_data()
        ran.append(key)
        return result

    def evaluate(model_ref: str | Path, label: str) -> ModelEval:
        scored = f" and {len(gold)} gold answers" if gold else ""
        say(f"{plan.name}: evaluating {label} on {len(cases)} cases{scored}")
        report = evaluate_model(model_ref, suite_paths, cases, generation=generation, home=workspace.home, gold=gold)
        report.include_contaminated = plan.include_contaminated
        with briefly(workspace) as ws:
            # Every model is checked against every arm's snapshot, so all are scored on the same cases.
            record_eval(ws, report, contamination_snapshots=arm_snapshots)
        return ModelEval(report.id, report.model)

    step(plan.eval_step("base"), ModelEval, lambda: evaluate(plan.base_model, "base"))
    for seed in plan.seeds:
        for arm in plan.arms:

            def train_arm(arm: Arm = arm, seed: int = seed) -> ArmRun:
                out = workspace.paths.adapters / f"exp-{plan.name}-{arm.label}-seed{seed}"
                say(f"{plan.name}: training {arm.label} ({arm.snapshot_name}), {plan.steps} steps, seed {seed}")
                config = plan.config.model_copy(update={"max_steps": plan.steps, "seed": seed})
                # Every arm trains, whatever its gates say: a noisy arm fails them by design. The
                # manifest and the report record what was overridden.
                result = train(
                    workspace,
                    arm.snapshot_id,
                    base_model=plan.base_model,
                    out=out,
                    config=config,
                    force=True,
                    overwrite=True,
                    eval_suites=suite_paths,
                )
                m = result.manifest
                return ArmRun(
                    adapter_dir=str(result.adapter_dir),
                    run_id=m.run_id,
                    losses=_loss_curve(result.log_history),
                    metrics={k: m.metrics.get(k) for k in RUN_METRICS},
                    overridden_blockers=m.overridden_blockers,
                )

            trained = step(plan.train_step(arm, seed), ArmRun, train_arm)
            step(
                plan.eval_step(arm.label, seed),
                ModelEval,
                lambda trained=trained, arm=arm, seed=seed: evaluate(trained.adapter_dir, f"{arm.label} seed {seed}"),
            )

    with briefly(workspace, read_only=True) as ws:
        report = build_report(ws, plan, done)
    json_path, html_path = write_report(report, out_dir)
    return ExperimentOutcome(plan, report, json_path, html_path, ran)


@dataclass(frozen=True)
class ExperimentStepState:
    """One row of ``triforge experiment status``."""

    step: str
    status: str
    error: str | None
    updated_at: str


def experiment_status(workspace: Workspace, name: str) -> list[ExperimentStepState]:
    ledger = StepLedger(workspace, name)
    if ledger.stored_plan() is None:
        raise NotFound(f"no experiment {name!r}")
    return [
        ExperimentStepState(r.step, r.status, r.error, r.updated_at.isoformat())
        for r in sorted(ledger.steps().values(), key=lambda r: r.updated_at)
    ]


def rebuild_report(workspace: Workspace, name: str) -> tuple[dict[str, Any], Path]:
    """The report of what is stored, written again without running anything; returns it and its HTML path."""
    from pipelines.experiment.report import build_report, write_report

    ledger = StepLedger(workspace, name)
    plan = ledger.stored_plan()
    if plan is None:
        raise NotFound(f"no experiment {name!r}")
    done = {k: v.data for k, v in ledger.steps().items() if v.done}
    with briefly(workspace, read_only=True) as ws:
        report = build_report(ws, plan, done)
    _, html_path = write_report(report, workspace.paths.experiments / name)
    return report, html_path

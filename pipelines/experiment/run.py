"""Running an experiment as resumable steps: evaluate the base, then train and evaluate every arm per seed.

Each step's outcome is a row in ``experiment_steps``; a finished step is never run again, one that
crashed or was killed is (``triforge train`` leaves no half-written adapter, an eval is stored in one
transaction). The store is opened only for the moments a step reads or records something, so a
training run of hours never holds the single-writer lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from curation.errors import Invalid, NotFound
from curation.workspace import Workspace
from pipelines.base import briefly
from pipelines.experiment.ledger import StepLedger
from pipelines.experiment.plan import Arm, ExperimentPlan
from pipelines.experiment.report import build_report, write_report
from pipelines.experiment.steps import ArmRun, ModelEval
from trainer.evaluation.gold import read_gold_file
from trainer.evaluation.runner import GenerationSettings, evaluate_model, load_suites, record_eval, select_cases
from trainer.sft import train

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
    ledger = StepLedger(workspace, name)
    plan = ledger.stored_plan()
    if plan is None:
        raise NotFound(f"no experiment {name!r}")
    done = {k: v.data for k, v in ledger.steps().items() if v.done}
    with briefly(workspace, read_only=True) as ws:
        report = build_report(ws, plan, done)
    _, html_path = write_report(report, workspace.paths.experiments / name)
    return report, html_path

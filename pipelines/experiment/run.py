"""Running an experiment as resumable steps: evaluate the base, then train and evaluate every arm per seed.

Each step's outcome is a row in ``experiment_steps``; a finished step is never run again, one that
crashed or was killed is (``triforge train`` leaves no half-written adapter, an eval is stored in one
transaction). The store is opened only for the moments a step reads or records something, so a
training run of hours never holds the single-writer lock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curation.store import Store, StoreError
from pipelines.experiment.plan import Arm, ExperimentPlan

Say = Callable[[str], None]
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
    """``experiments`` and ``experiment_steps``: the plan, and each step's status and result."""

    def __init__(self, store_path: Path | None, name: str) -> None:
        self.store_path = store_path
        self.name = name

    def stored_plan(self) -> ExperimentPlan | None:
        with Store(self.store_path, read_only=True) as store:
            row = store.con.execute("SELECT plan FROM experiments WHERE name = ?", [self.name]).fetchone()
        return ExperimentPlan.model_validate_json(row[0]) if row else None

    def save_plan(self, plan: ExperimentPlan) -> None:
        with Store(self.store_path) as store, store.transaction() as con:
            con.execute(
                "INSERT INTO experiments VALUES (?, ?, ?)", [plan.name, plan.model_dump_json(), datetime.now(UTC)]
            )

    def steps(self) -> dict[str, dict[str, Any]]:
        with Store(self.store_path, read_only=True) as store:
            rows = store.con.execute(
                "SELECT step, status, data, error, updated_at FROM experiment_steps WHERE experiment = ?", [self.name]
            ).fetchall()
        return {r[0]: {"status": r[1], "data": json.loads(r[2]), "error": r[3], "updated_at": r[4]} for r in rows}

    def save(self, step: str, status: str, data: dict[str, Any], error: str | None = None) -> None:
        with Store(self.store_path) as store, store.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO experiment_steps VALUES (?, ?, ?, ?, ?, ?)",
                [self.name, step, status, json.dumps(data), error, datetime.now(UTC)],
            )


def resolve_arms(store_path: Path | None, refs: list[str]) -> list[Arm]:
    """``curated`` or ``label=snapshot``: each snapshot (name, id or prefix) under its report label."""
    from curation.snapshots import resolve_snapshot

    arms = []
    with Store(store_path, read_only=True) as store:
        for ref in refs:
            label, _, snap_ref = ref.partition("=") if "=" in ref else (ref, "", ref)
            snapshot = resolve_snapshot(store, snap_ref)
            arms.append(Arm(label=label, snapshot_id=snapshot.id, snapshot_name=snapshot.name))
    labels = [a.label for a in arms]
    if len(set(labels)) != len(labels) or "base" in labels:
        raise StoreError(f"arm labels must be unique and not 'base': {labels}")
    return arms


def settle_plan(ledger: StepLedger, requested: ExperimentPlan | None) -> ExperimentPlan:
    """The plan to run: the stored one when resuming, the requested one when new; a rerun with other
    settings is refused (start a new experiment name instead)."""
    stored = ledger.stored_plan()
    if stored is None:
        if requested is None:
            raise StoreError(f"no experiment {ledger.name!r}; give --snapshot (one per arm) to start it")
        ledger.save_plan(requested)
        return requested
    if requested is not None and (changed := stored.same_setup(requested)):
        raise StoreError(
            f"experiment {ledger.name!r} already exists with other settings ({', '.join(changed)}); "
            "rerun it with the same options (or none) to resume, or choose a new name"
        )
    return stored


def _loss_curve(log_history: list[dict[str, Any]]) -> list[list[float]]:
    return [[int(e["step"]), round(float(e["loss"]), 4)] for e in log_history if "loss" in e and "step" in e]


def run_experiment(
    store_path: Path | None,
    home: Path,
    name: str,
    requested: ExperimentPlan | None = None,
    *,
    say: Say = print,
    on_step: Callable[[str, int, int], None] | None = None,
) -> ExperimentOutcome:
    """Run (or resume) every step, then write ``report.json`` and ``report.html`` under
    ``$TRIFORGE_HOME/experiments/NAME/``."""
    from pipelines.experiment.report import build_report, write_report
    from trainer.evaluation.runner import GenerationSettings, evaluate_model, load_suites, record_eval, select_cases
    from trainer.sft import train

    ledger = StepLedger(store_path, name)
    plan = settle_plan(ledger, requested)
    done = {k: v for k, v in ledger.steps().items() if v["status"] == "done"}
    suite_paths = [Path(p) for p in plan.suites]
    cases = select_cases(load_suites(suite_paths), limit=plan.limit)
    generation = GenerationSettings(**plan.generation)  # type: ignore[arg-type]
    arm_snapshots = [a.snapshot_id for a in plan.arms]
    out_dir = home / "experiments" / plan.name
    ran: list[str] = []

    order = [plan.eval_step("base")]
    for seed in plan.seeds:
        for arm in plan.arms:
            order += [plan.train_step(arm, seed), plan.eval_step(arm.label, seed)]

    def step(key: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if key in done:
            return done[key]["data"]
        if on_step:
            on_step(key, order.index(key), len(order))
        ledger.save(key, "running", {})
        clock = time.perf_counter()
        try:
            data = fn() | {"seconds": round(time.perf_counter() - clock, 1)}
        except BaseException as exc:
            ledger.save(key, "failed", {}, f"{type(exc).__name__}: {exc}")
            raise
        ledger.save(key, "done", data)
        done[key] = {"status": "done", "data": data}
        ran.append(key)
        return data

    def evaluate(model_ref: str | Path, label: str) -> dict[str, Any]:
        say(f"{plan.name}: evaluating {label} on {len(cases)} cases")
        report = evaluate_model(model_ref, suite_paths, cases, generation=generation)
        report.include_contaminated = plan.include_contaminated
        with Store(store_path) as store:
            # Every model is checked against every arm's snapshot, so all are scored on the same cases.
            record_eval(store, report, contamination_snapshots=arm_snapshots)
        return {"eval_id": report.id, "model": report.model}

    step(plan.eval_step("base"), lambda: evaluate(plan.base_model, "base"))
    for seed in plan.seeds:
        for arm in plan.arms:

            def train_arm(arm: Arm = arm, seed: int = seed) -> dict[str, Any]:
                out = home / "adapters" / f"exp-{plan.name}-{arm.label}-seed{seed}"
                say(f"{plan.name}: training {arm.label} ({arm.snapshot_name}), {plan.steps} steps, seed {seed}")
                config = plan.config.model_copy(update={"max_steps": plan.steps, "seed": seed})
                # Every arm trains, whatever its gates say: a noisy arm fails them by design. The
                # manifest and the report record what was overridden.
                result = train(
                    store_path,
                    arm.snapshot_id,
                    base_model=plan.base_model,
                    out=out,
                    config=config,
                    force=True,
                    overwrite=True,
                    eval_suites=suite_paths,
                )
                m = result.manifest
                return {
                    "adapter_dir": str(result.adapter_dir),
                    "run_id": m.run_id,
                    "losses": _loss_curve(result.log_history),
                    "metrics": {k: m.metrics.get(k) for k in RUN_METRICS},
                    "overridden_blockers": m.overridden_blockers,
                }

            trained = step(plan.train_step(arm, seed), train_arm)
            step(
                plan.eval_step(arm.label, seed),
                lambda trained=trained, arm=arm, seed=seed: evaluate(
                    trained["adapter_dir"], f"{arm.label} seed {seed}"
                ),
            )

    with Store(store_path, read_only=True) as store:
        report = build_report(store, plan, {k: v["data"] for k, v in done.items()})
    json_path, html_path = write_report(report, out_dir)
    return ExperimentOutcome(plan, report, json_path, html_path, ran)


def experiment_status(store_path: Path | None, name: str) -> list[dict[str, Any]]:
    ledger = StepLedger(store_path, name)
    if ledger.stored_plan() is None:
        raise StoreError(f"no experiment {name!r}")
    return [
        {"step": k, "status": v["status"], "error": v["error"], "updated_at": v["updated_at"].isoformat()}
        for k, v in sorted(ledger.steps().items(), key=lambda kv: kv[1]["updated_at"])
    ]

"""The experiment's report: per metric, every model's mean with its interval and every difference that
matters (each arm against the base, the first arm against each other arm) with a paired bootstrap
interval and a verdict; per category; loss curves; and each arm's lineage.

Only cases every model answered and no arm's snapshot contains are counted (unless the plan says to
include contaminated cases), so all numbers in one table describe the same cases. With several seeds,
an arm's per-case value is the mean over its seeds before resampling cases.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2

from curation.resources.evals import CaseKey, CaseMetrics
from curation.validators.profiles import profile_for
from curation.workspace import Workspace
from pipelines.experiment.charts import bar_chart, loss_chart
from pipelines.experiment.plan import ExperimentPlan
from pipelines.experiment.steps import ArmRun, ModelEval
from trainer.evaluation.scorers import METRICS, higher_is_better
from trainer.evaluation.stats import bootstrap_mean, paired_bootstrap


def _mean_over_seeds(runs: list[dict[CaseKey, CaseMetrics]], keys: list[CaseKey]) -> dict[CaseKey, dict]:
    out: dict[CaseKey, dict[str, float | None]] = {}
    for key in keys:
        values: dict[str, float | None] = {}
        for metric in METRICS:
            seen = [v for run in runs if (v := run[key].metrics.get(metric)) is not None]
            values[metric] = sum(seen) / len(seen) if seen else None
        out[key] = values
    return out


def _lineage(workspace: Workspace, plan: ExperimentPlan, steps: dict[str, Any]) -> list[dict[str, Any]]:
    arms = []
    for arm in plan.arms:
        snap = workspace.snapshots.resolve(arm.snapshot_id)
        rows = workspace.experiments.arm_members(snap.id)
        runs = [steps.get(plan.train_step(arm, seed)) for seed in plan.seeds]
        arms.append(
            {
                "label": arm.label,
                "snapshot": {"name": snap.name, "id": snap.id, "content_hash": snap.content_hash,
                             "where": snap.where, "members": snap.member_count},
                "kinds": dict(Counter(r.kind for r in rows).most_common()),
                "categories": dict(Counter(r.category for r in rows).most_common()),
                "sources": dict(Counter(r.source_type for r in rows).most_common()),
                "source_names": dict(Counter(r.source_name for r in rows).most_common()),
                "validators": _required_shares(workspace.experiments.arm_validator_results(snap.id)),
                "validation_passed": sum(r.validation == "passed" for r in rows),
                "duplicates": sum(r.duplicate for r in rows),
                "runs": [
                    _arm_run_row(seed, ArmRun.from_data(run) if run is not None else None)
                    for seed, run in zip(plan.seeds, runs, strict=True)
                ],
            }
        )  # fmt: skip
    return arms


def _required_shares(results: dict[tuple[str, str], tuple[int, int]]) -> dict[str, dict[str, Any]]:
    """Per validator, the share of the members whose kind requires it that pass it (an advisory check, such
    as a convention rule on a dialogue that quotes buggy code on purpose, does not decide validation)."""
    totals: dict[str, list[int]] = {}
    for (kind, name), (passed, judged) in results.items():
        try:
            required = name in profile_for(kind).required
        except ValueError:  # a kind this version does not know
            required = False
        if required:
            total = totals.setdefault(name, [0, 0])
            total[0] += passed
            total[1] += judged
    return {
        name: {"passed": passed, "judged": judged, "share": round(passed / judged, 3)}
        for name, (passed, judged) in sorted(totals.items())
    }


def _arm_run_row(seed: int, run: ArmRun | None) -> dict[str, Any]:
    """One seed's run as the report lists it (a run not trained yet: its seed and empty fields)."""
    if run is None:
        return {"seed": seed, "adapter_dir": None, "run_id": None, "metrics": {}, "losses": [],
                "overridden_blockers": [], "seconds": None}  # fmt: skip
    return {"seed": seed} | run.as_data()


def _seed_spread(
    evals: dict[str, list[dict[CaseKey, CaseMetrics]]], keys: list[CaseKey], arms: list[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per arm trained with several seeds, per metric: each seed's mean over the counted cases and their
    range - how much of a difference between arms one seed's luck could make."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for label in arms:
        runs = evals.get(label, [])
        if len(runs) < 2:
            continue
        out[label] = {}
        for metric in METRICS:
            means = []
            for run in runs:
                values = [v for k in keys if (v := run[k].metrics.get(metric)) is not None]
                if values:
                    means.append(round(sum(values) / len(values), 4))
            if len(means) == len(runs):
                out[label][metric] = {"per_seed": means, "range": round(max(means) - min(means), 4)}
    return out


def _comparison(
    a: dict[CaseKey, dict], b: dict[CaseKey, dict], keys: list[CaseKey], seed: int = 0
) -> dict[str, dict[str, Any]]:
    out = {}
    for metric in METRICS:
        pairs = [(a[k][metric], b[k][metric]) for k in keys if a[k][metric] is not None and b[k][metric] is not None]
        interval = paired_bootstrap([p[0] for p in pairs], [p[1] for p in pairs], seed=seed)
        out[metric] = interval.as_dict() | {"verdict": interval.verdict(higher_is_better=higher_is_better(metric))}
    return out


def build_report(workspace: Workspace, plan: ExperimentPlan, steps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Everything the HTML shows, as JSON. ``steps`` are the finished steps' data (missing ones are pending)."""
    labels = ["base", *(a.label for a in plan.arms)]
    evals: dict[str, list[dict[CaseKey, CaseMetrics]]] = {}
    pending = []
    for label in labels:
        keys = [plan.eval_step("base")] if label == "base" else [plan.eval_step(label, s) for s in plan.seeds]
        got = [workspace.evals.case_metrics(ModelEval.from_data(steps[k]).eval_id) for k in keys if k in steps]
        pending += [k for k in keys if k not in steps]
        if got:
            evals[label] = got
    present = [label for label in labels if label in evals]
    common = set.intersection(*(set(run) for label in present for run in evals[label])) if present else set()
    contaminated = {k for label in present for run in evals[label] for k, v in run.items() if v.contaminated}
    keys = sorted(k for k in common if plan.include_contaminated or k not in contaminated)
    values = {label: _mean_over_seeds(evals[label], keys) for label in present}
    some_run = evals[present[0]][0] if present else {}
    categories = sorted({some_run[k].category or "(none)" for k in keys})

    models = {
        label: {
            metric: bootstrap_mean([v for k in keys if (v := values[label][k][metric]) is not None]).as_dict()
            for metric in METRICS
        }
        for label in present
    }
    pairs: list[tuple[str, str]] = [("base", arm) for arm in present if arm != "base"]
    arms = [label for label in present if label != "base"]
    pairs += [(other, arms[0]) for other in arms[1:]]  # the first arm (e.g. curated) against the others
    comparisons = [{"a": a, "b": b, "metrics": _comparison(values[a], values[b], keys)} for a, b in pairs]
    focus = pairs[-1] if pairs else None
    by_category = {}
    if focus:
        a, b = focus
        for category in categories:
            mine = [k for k in keys if (some_run[k].category or "(none)") == category]
            by_category[category] = _comparison(values[a], values[b], mine)
    return {
        "seed_spread": _seed_spread(evals, keys, [a.label for a in plan.arms]),
        "experiment": plan.name,
        "plan": plan.model_dump(mode="json"),
        "complete": not pending,
        "pending_steps": pending,
        "cases": {"counted": len(keys), "answered_by_all": len(common), "contaminated": len(contaminated)},
        "metrics": METRICS,
        "models": models,
        # Metrics no counted case has (quest metrics on a debugging suite): named once, not tabled or charted.
        "unmeasured": [m for m in METRICS if not any(models[label][m]["n"] for label in models)],
        "comparisons": comparisons,
        "category_comparison": {"a": focus[0], "b": focus[1], "categories": by_category} if focus else None,
        "arms": _lineage(workspace, plan, steps),
        "seconds": round(sum(float(v.get("seconds") or 0) for v in steps.values()), 1),
    }


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipelines.experiment", "templates"),
        autoescape=True,  # the template is HTML (report.html.j2); the charts are Markup built with escape()
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v, digits=3: "-" if v is None or v != v else f"{v:.{digits}f}"
    env.filters["signed"] = lambda v: "-" if v is None or v != v else f"{v:+.3f}"

    html = env.get_template("report.html.j2").render(r=report, bar_chart=bar_chart, loss_chart=loss_chart)
    html_path.write_text(html, encoding="utf-8")
    return json_path, html_path

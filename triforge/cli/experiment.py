"""``triforge experiment run | status | report``: did curation make a better model, with intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pipelines.experiment.arms import freeze_arms, parse_arm_filter, resolve_arms
from pipelines.experiment.gold_set import freeze_gold
from pipelines.experiment.plan import ExperimentPlan
from pipelines.experiment.run import experiment_status, rebuild_report, run_experiment
from trainer.evaluation.runner import GenerationSettings, suite_sha256
from trainer.gates import DEFAULT_SUITE
from trainer.sft import device_defaults, load_config
from triforge.cli.common import (
    console,
    err_console,
    open_workspace,
    print_json,
    progress_bar,
    simple_table,
    user_errors,
)

app = typer.Typer(no_args_is_help=True, help="Curated vs diluted: one adapter per arm, same budget, same evals.")


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter("comma-separated integers, e.g. 0,1,2", param_hint="--seeds") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise typer.BadParameter("at least one seed, none twice", param_hint="--seeds")
    return seeds


def print_report(report: dict[str, Any]) -> None:
    """Each metric: every model's mean [CI], then each comparison's difference [CI] and verdict."""
    models = list(report["models"])
    comparisons = report["comparisons"]
    table = Table(title=f"experiment {report['experiment']}: {report['cases']['counted']} cases, 95% CI")
    table.add_column("metric")
    for model in models:
        table.add_column(model, justify="right")
    for c in comparisons:
        table.add_column(f"{c['b']} - {c['a']}", justify="right")
    unmeasured = report["unmeasured"]
    for metric in report["metrics"]:
        if metric in unmeasured:
            continue
        cells = []
        for model in models:
            m = report["models"][model][metric]
            cells.append("-" if not m["n"] else f"{m['mean']:.3f} [{m['low']:.2f}, {m['high']:.2f}]")
        for c in comparisons:
            d = c["metrics"][metric]
            color = {"better": "green", "worse": "red"}.get(d["verdict"], "dim")
            cells.append(
                "-"
                if not d["n"]
                else f"{d['mean']:+.3f} [{d['low']:+.2f}, {d['high']:+.2f}] [{color}]{d['verdict']}[/] (n={d['n']})"
            )
        table.add_row(metric, *cells)
    console.print(table)
    if unmeasured:
        console.print(f"[dim]no case measures {', '.join(unmeasured)} in this experiment[/]")
    rows = []
    for arm in report["arms"]:
        for run in arm["runs"]:
            m = run["metrics"]
            rows.append(
                (arm["label"], run["seed"], arm["snapshot"]["name"], arm["snapshot"]["members"], m.get("train_rows"),
                 m.get("steps"), f"{_loss(m.get('loss_start'))} -> {_loss(m.get('loss_end'))}",
                 _loss(m.get("eval_loss")))
            )  # fmt: skip
    columns = ("arm", "seed", "snapshot", "samples", "train rows", "steps", "loss (first -> last fifth)", "eval loss")
    console.print(simple_table("training runs", columns, rows))
    print_arm_contents(report)
    for label, metrics in (report.get("seed_spread") or {}).items():
        spread = ", ".join(f"{m} {v['range']:.3f}" for m, v in metrics.items() if v["range"])
        console.print(f"seed-to-seed range of {label}'s means: {spread or 'none'}")
    if report["cases"]["contaminated"]:
        state = "counted" if report["plan"]["include_contaminated"] else "left out of every mean"
        console.print(f"[yellow]{report['cases']['contaminated']} case(s) found in a training snapshot: {state}[/]")
    if not report["complete"]:
        console.print(f"[yellow]incomplete:[/] {', '.join(report['pending_steps'])}")


def print_arm_contents(report: dict[str, Any]) -> None:
    """What each arm is made of: why the arms differ, in kinds, sources and the validators' verdicts."""
    for arm in report["arms"]:
        members = arm["snapshot"]["members"]
        kinds = ", ".join(f"{k} {v}" for k, v in list(arm["kinds"].items())[:4])
        sources = ", ".join(f"{k} {v}" for k, v in list((arm.get("source_names") or {}).items())[:4])
        failing = sorted(
            ((name, v["share"]) for name, v in (arm.get("validators") or {}).items() if v["share"] < 1),
            key=lambda item: item[1],
        )
        shares = (
            ", ".join(f"{name} {'>99%' if share > 0.99 else f'{share:.0%}'}" for name, share in failing[:6])
            or "all members pass every validator their kind requires"
        )
        console.print(
            f"[bold]{arm['label']}[/]: {members} samples, {arm['validation_passed']} pass validation, "
            f"{arm['duplicates']} duplicates; kinds {kinds}; from {sources}; passing: {shares}",
            highlight=False,
        )


def _loss(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@app.command("run")
@user_errors
def run_command(
    name: Annotated[str, typer.Argument(help="Experiment name; rerun with the same name to resume")],
    snapshot: Annotated[
        list[str] | None,
        typer.Option(
            "--snapshot",
            help="An arm: SNAPSHOT or LABEL=SNAPSHOT (repeatable; the first is the one "
            "compared against the others, e.g. curated)",
        ),
    ] = None,
    arm: Annotated[
        list[str] | None,
        typer.Option(
            "--arm",
            help='An arm from a filter: LABEL="FILTER" (repeatable; frozen as snapshot NAME-LABEL; the first '
            "is compared against the others)",
        ),
    ] = None,
    arm_size: Annotated[
        int | None,
        typer.Option(min=1, help="Train every --arm on a random N of its samples (the first seed picks them)"),
    ] = None,
    gold: Annotated[
        str | None,
        typer.Option(help="Gold answers for gold_nll: a JSONL file of chat rows, or a filter (held out of every arm)"),
    ] = None,
    drop_overlapping_gold: Annotated[
        bool,
        typer.Option(
            "--drop-overlapping-gold",
            help="Leave out the gold cases an arm holds a prompt like (exactly or nearly) instead of refusing",
        ),
    ] = False,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Optimizer steps per adapter (default: the device's)")
    ] = None,
    seeds: Annotated[str, typer.Option(help="Training seeds, comma-separated: one adapter per arm and seed")] = "0",
    suite: Annotated[
        list[Path] | None,
        typer.Option(help="Eval suite files, repeatable (default: the bundled keyword cases)"),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N cases per suite")] = None,
    base_model: Annotated[str, typer.Option(help="'smollm2' or a local model directory (same for every arm)")] = (
        "smollm2"
    ),
    config: Annotated[Path | None, typer.Option(help="TOML or JSON overriding the training defaults")] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1, max=4096, help="Eval tokens per case")] = 256,
    batch_size: Annotated[int, typer.Option(min=1, max=256, help="Eval prompts per generate call")] = 8,
    include_contaminated: Annotated[bool, typer.Option(help="Count cases found in a training snapshot")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Train one LoRA adapter per arm (a snapshot, or a filter frozen as one) and seed with the same base,
    budget and config; evaluate each and the base on the same cases (and --gold answers: gold_nll); write
    report.json and report.html (per-metric intervals, loss curves, what each arm holds, seed spread)."""

    if snapshot and arm:
        raise typer.BadParameter("give the arms as --snapshot or as --arm, not both", param_hint="--arm")
    if arm_size and not arm:
        raise typer.BadParameter("--arm-size samples --arm filters", param_hint="--arm-size")
    workspace = open_workspace()
    requested = None
    if snapshot or arm:
        settings = load_config(config)
        budget = steps or settings.max_steps or device_defaults().max_steps
        suites = [str(Path(p).resolve()) for p in (suite or [DEFAULT_SUITE])]
        seed_list = _seeds(seeds)
        filters = [parse_arm_filter(text) for text in arm or []]
        arms = (
            freeze_arms(workspace, name, filters, size=arm_size, seed=seed_list[0])
            if filters
            else resolve_arms(workspace, snapshot or [])
        )
        frozen = freeze_gold(workspace, name, gold, arms, drop_overlap=drop_overlapping_gold) if gold else None
        if frozen is not None and frozen.dropped and not as_json:
            err_console.print(f"{frozen.dropped} gold case(s) left out: an arm holds a prompt like theirs")
        requested = ExperimentPlan(
            name=name,
            arms=arms,
            **(frozen.plan_fields() if frozen else {}),
            base_model=base_model,
            steps=budget,
            seeds=seed_list,
            config=settings,
            suites=suites,
            suite_sha256=suite_sha256([Path(s) for s in suites]),
            limit=limit,
            generation=GenerationSettings(max_new_tokens=max_new_tokens, batch_size=batch_size).as_dict(),
            include_contaminated=include_contaminated,
        )
    say = (lambda text: None) if as_json else (lambda text: err_console.print(text, highlight=False))
    with workspace, progress_bar(disable=as_json) as bar:
        task = bar.add_task("experiment", total=None)

        def on_step(step: str, index: int, total: int) -> None:
            bar.update(task, completed=index, total=total, description=step)

        outcome = run_experiment(workspace, name, requested, say=say, on_step=on_step)
    if as_json:
        print_json(outcome.report | {"report_files": [str(outcome.json_path), str(outcome.html_path)]})
        return
    print_report(outcome.report)
    ran = f"ran {len(outcome.ran)} step(s)" if outcome.ran else "every step was already done"
    console.print(f"{ran}; report: {outcome.html_path} and {outcome.json_path.name}")


@app.command("status")
@user_errors
def status_command(
    name: Annotated[str, typer.Argument(help="Experiment name")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every step of an experiment: done, running (or killed), failed with its error."""

    with open_workspace() as workspace:
        steps = experiment_status(workspace, name)
    if as_json:
        print_json([s.__dict__ for s in steps])
        return
    rows = [(s.step, s.status, s.updated_at[:19], s.error) for s in steps]
    console.print(simple_table(f"experiment {name}", ("step", "status", "updated", "error"), rows))


@app.command("report")
@user_errors
def report_command(
    name: Annotated[str, typer.Argument(help="Experiment name")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Rebuild the report from what is stored, without running anything."""

    with open_workspace() as workspace:
        report, html_path = rebuild_report(workspace, name)
    if as_json:
        print_json(report)
        return
    print_report(report)
    console.print(f"report: {html_path}")

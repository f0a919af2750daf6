"""``triforge eval [run|compare|list|make-suite]``: a model on eval suites, runs compared with intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from typer.core import TyperGroup

from curation.rommap import load_rom_map
from curation.workspace import WorkspacePaths
from pipelines.eval_suites import write_suite
from trainer.evaluation.runner import (
    EvalReport,
    GenerationSettings,
    compare_eval_runs,
    evaluate_model,
    list_eval_runs,
    load_suites,
    new_eval_id,
    read_responses,
    record_eval,
    score_responses,
    select_cases,
    suite_label,
    suite_sha256,
)
from trainer.evaluation.scorers import METRICS
from trainer.gates import DEFAULT_SUITE
from triforge.cli.common import (
    console,
    current_home,
    open_workspace,
    print_json,
    progress_bar,
    simple_table,
    user_errors,
)


class _RunByDefault(TyperGroup):
    """``triforge eval MODEL ...`` means ``triforge eval run MODEL ...``; named subcommands still work."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(cls=_RunByDefault, no_args_is_help=True, help="Keyword evals: run, compare, list, show.")


def _suite_table(summary: dict, title: str) -> Table:
    table = Table(title=title)
    for col in ("suite", "cases", "substring mean", "substring passed", "word mean", "word passed"):
        table.add_column(col, justify="left" if col == "suite" else "right")
    for name, s in summary.items():
        table.add_row(
            f"[bold]{name}[/]" if name == "ALL" else name,
            str(s["cases"]),
            f"{s['substring']['mean_score']:.3f}",
            str(s["substring"]["passed"]),
            f"{s['word']['mean_score']:.3f}",
            str(s["word"]["passed"]),
        )
    return table


def _case_table(cases: list[dict]) -> Table:
    table = Table(title="per case (substring rule / whole-word rule)")
    for col in ("suite", "case", "substring", "word", "missing (word)", "anti"):
        table.add_column(col)
    for c in cases:
        table.add_row(
            c["suite"],
            c["name"],
            f"{c['substring']['score']:.2f} {'pass' if c['substring']['passed'] else 'fail'}",
            f"{c['word']['score']:.2f} {'pass' if c['word']['passed'] else 'fail'}",
            ", ".join(c["word"]["missing"]),
            ", ".join(c["word"]["anti_found"]),
        )
    return table


def _metric_table(summary: dict, title: str) -> Table:
    """One row per metric: the mean over the cases it applies to, and how many those are."""
    table = Table(title=title)
    suites = list(summary)
    for col in ("metric", *suites):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for metric, label in METRICS.items():
        cells = []
        for name in suites:
            m = summary[name]["metrics"][metric]
            cells.append("-" if m["mean"] is None else f"{m['mean']:.3f} ({m['n']})")
        table.add_row(f"{metric}  [dim]{label}[/]", *cells)
    return table


@eval_app.command("make-suite")
@user_errors
def eval_make_suite_command(
    kind: Annotated[str, typer.Argument(help="behaviour (bug cases with executable specs) or quests")],
    out: Annotated[Path, typer.Option(help="The JSONL suite file to write")],
    n: Annotated[int, typer.Option(min=1, max=5000, help="Cases")] = 40,
    seed: Annotated[int, typer.Option(help="Seed (drawn apart from every proposer's seeds)")] = 0,
) -> None:
    """Write a held-out suite for the metrics that run code (fix_passes) or check the game (hook_valid, ...)."""

    rom_map = load_rom_map(WorkspacePaths(current_home()).rom_map) if kind == "quests" else None
    written = write_suite(kind, out, n, seed, rom_map)
    console.print(f"{written} {kind} cases written to {out}")


@eval_app.command("run")
@user_errors
def eval_run_command(
    model: Annotated[str, typer.Argument(help="Adapter dir from triforge train, a model dir, or 'smollm2'")],
    suite: Annotated[
        list[Path] | None,
        typer.Option(
            help="Suite file, repeatable: keyword suites (.json), router eval or benchmark rows (.jsonl); "
            "default: the bundled triforce_eval_cases.json"
        ),
    ] = None,
    responses: Annotated[
        Path | None, typer.Option(help="Score these responses (JSONL name/response) instead of generating")
    ] = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Only these suites (repeatable)")] = None,
    limit: Annotated[int | None, typer.Option(help="At most N cases per suite")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per case")] = 256,
    batch_size: Annotated[int, typer.Option(min=1, max=256, help="Prompts per generate call")] = 8,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 is greedy")] = 0.0,
    seed: Annotated[int, typer.Option(help="Sampling seed (stored with the run)")] = 0,
    check_against: Annotated[
        list[str] | None,
        typer.Option(
            "--check-against",
            help="Snapshots whose prompts mark cases contaminated (default: the adapter's own training snapshot)",
        ),
    ] = None,
    include_contaminated: Annotated[
        bool, typer.Option(help="Count contaminated cases in the means (they are flagged either way)")
    ] = False,
    cases: Annotated[bool, typer.Option("--cases/--no-cases", help="Print the per-case table")] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run eval suites: both keyword rules, and the curation validators on each answer (diagnosis-first
    structure, category terms, anti-patterns, code that assembles with Asar)."""

    suite_paths = list(suite or [DEFAULT_SUITE])
    chosen = select_cases(load_suites(suite_paths), only=only, limit=limit)
    if not chosen:
        raise typer.BadParameter("no cases selected")
    if responses is not None:
        generation = {"source": f"responses file {responses}"}
        report = EvalReport(new_eval_id(), model, suite_label(suite_paths), suite_sha256(suite_paths), generation)
        report.results = score_responses(chosen, read_responses(responses, chosen), current_home())
    else:
        settings = GenerationSettings(max_new_tokens, temperature, seed=seed, batch_size=batch_size)
        with progress_bar(disable=as_json) as bar:
            task = bar.add_task(f"loading {model}", total=None)
            report = evaluate_model(
                model,
                suite_paths,
                chosen,
                generation=settings,
                on_loaded=lambda: bar.update(task, total=len(chosen), completed=0, description="generating"),
                on_case=lambda case: bar.advance(task),
                home=current_home(),
            )
    report.include_contaminated = include_contaminated
    with open_workspace() as workspace:
        record_eval(workspace, report, contamination_snapshots=check_against)
    data = report.as_dict()
    if as_json:
        print_json(data)
        return
    if cases:
        console.print(_case_table(data["cases"]))
    console.print(_suite_table(data["summary"], f"eval {report.id}: {report.model}"))
    console.print(_metric_table(data["summary"], "metrics: mean (cases it applies to)"))
    flagged = data["summary"]["ALL"]["contaminated"]
    if flagged:
        state = "counted" if include_contaminated else "left out of every mean"
        console.print(f"[yellow]{flagged} case(s) appear in the training snapshot's prompts: {state}[/]")


def _interval_cell(m: dict) -> str:
    if m["n"] == 0:
        return "-"
    lo, hi = m["ci"]
    verdict = m["verdict"]
    color = {"better": "green", "worse": "red"}.get(verdict, "dim")
    return f"{m['delta']:+.3f} [{lo:+.3f}, {hi:+.3f}] [{color}]{verdict}[/]"


@eval_app.command("compare")
@user_errors
def eval_compare_command(
    a: Annotated[str, typer.Argument(help="Eval run id (or prefix), or an evaluated model: its latest run")],
    b: Annotated[str, typer.Argument(help="The run to compare against A (B - A)")],
    include_contaminated: Annotated[bool, typer.Option(help="Count cases flagged contaminated")] = False,
    categories: Annotated[bool, typer.Option("--categories/--no-categories", help="Per-category table")] = True,
    seed: Annotated[int, typer.Option(help="Bootstrap seed")] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """B - A per metric with paired bootstrap 95% intervals; "no measurable change" when 0 is inside."""

    with open_workspace(read_only=True) as workspace:
        diff = compare_eval_runs(workspace, a, b, include_contaminated=include_contaminated, seed=seed)
    if as_json:
        print_json(diff)
        return
    overall = diff["suites"]["ALL"]
    table = Table(title=f"eval compare {diff['a']} -> {diff['b']} ({overall['cases']} cases, B - A, 95% CI)")
    for col in ("metric", "n", "A", "B", "B - A", "95% CI", "verdict"):
        table.add_column(col, justify="left" if col in ("metric", "verdict") else "right")
    for metric in METRICS:
        m = overall["metrics"][metric]
        if m["n"] == 0:
            continue
        color = {"better": "green", "worse": "red"}.get(m["verdict"], "dim")
        table.add_row(
            metric, str(m["n"]), f"{m['a']:.3f}", f"{m['b']:.3f}", f"{m['delta']:+.3f}",
            f"[{m['ci'][0]:+.3f}, {m['ci'][1]:+.3f}]", f"[{color}]{m['verdict']}[/]",
        )  # fmt: skip
    console.print(table)
    if diff["contaminated"]:
        state = "counted" if include_contaminated else "left out"
        console.print(f"[yellow]{diff['contaminated']} contaminated case(s) {state}[/]")
    suites = Table(title="per suite: whole-word keyword score and diagnosis-first, B - A")
    for col in ("suite", "cases", "word A", "word B", "word B - A [95% CI]", "diagnosis-first B - A"):
        suites.add_column(col)
    for name, s in diff["suites"].items():
        if name == "ALL":
            continue
        suites.add_row(
            name,
            str(s["cases"]),
            f"{s['word']['a']:.3f}",
            f"{s['word']['b']:.3f}",
            _interval_cell(s["metrics"]["keyword_word"]),
            _interval_cell(s["metrics"]["diagnosis_first"]),
        )
    console.print(suites)
    for c in diff["cases"]:
        if c["word"]["delta"] or c["substring"]["delta"]:
            console.print(
                f"  {c['suite']}/{c['name']}: word {c['word']['a']:.2f} -> {c['word']['b']:.2f}, "
                f"substring {c['substring']['a']:.2f} -> {c['substring']['b']:.2f}"
                + (" [yellow](contaminated)[/]" if c["contaminated"] else "")
            )
    if categories:
        per = Table(title="per category, B - A [95% CI] (n)")
        for col in ("category", "keyword_word", "diagnosis_first", "terminology", "assembles"):
            per.add_column(col)
        for name, metrics in diff["categories"].items():
            per.add_row(
                name,
                *(
                    "-" if metrics[k]["n"] == 0 else f"{_interval_cell(metrics[k])} ({metrics[k]['n']})"
                    for k in ("keyword_word", "diagnosis_first", "terminology", "assembles")
                ),
            )
        console.print(per)


@eval_app.command("list")
@user_errors
def eval_list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Stored eval runs, oldest first."""
    with open_workspace(read_only=True) as workspace:
        runs = list_eval_runs(workspace)
    if as_json:
        print_json([r.as_dict() for r in runs])
        return
    rows = [
        (r.id, r.created_at.isoformat()[:19], r.model, r.overall["cases"],
         f"{r.overall['substring']['mean_score']:.3f}", f"{r.overall['word']['mean_score']:.3f}",
         r.overall["word"]["passed"])
        for r in runs
    ]  # fmt: skip
    table = simple_table(
        "eval runs", ("id", "created", "model", "cases", "substring mean", "word mean", "word passed"), rows
    )
    console.print(table)

"""``triforge train``, ``triforge eval [run|compare|list|show]`` and ``triforge lineage``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from typer.core import TyperGroup

from triforge.cli.common import (
    console,
    current_home,
    err_console,
    open_workspace,
    print_json,
    progress_bar,
    simple_table,
    user_errors,
)


@user_errors
def train_command(
    snapshot: Annotated[str | None, typer.Argument(help="Snapshot name or id")] = None,
    base_model: Annotated[
        str, typer.Option(help="'smollm2' (shipped, converted once) or a local model directory, e.g. Qwen2.5-Coder-7B")
    ] = "smollm2",
    out: Annotated[Path | None, typer.Option(help="Adapter directory (default HOME/adapters/...)")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML or JSON overriding the LoRA/SFT defaults")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N optimizer steps (overrides epochs)")] = None,
    force: Annotated[bool, typer.Option(help="Train despite failing validations or eval contamination")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty --out directory")] = False,
    evals: Annotated[
        list[Path] | None, typer.Option("--evals", help="Eval suites for the contamination gate (default: bundled)")
    ] = None,
    register: Annotated[
        Path | None, typer.Option(help="Only record a finished adapter whose run the store missed (it was busy)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """LoRA-train a base model on a snapshot's chat export; writes the adapter and its manifest."""
    from trainer.sft import load_config, register_run, train

    if register is not None:
        from schemas.training import TrainingManifest

        manifest_file = register / "manifest.json"
        if not manifest_file.is_file():
            raise typer.BadParameter(f"{manifest_file} does not exist", param_hint="--register")
        manifest = TrainingManifest.model_validate_json(manifest_file.read_text())
        with open_workspace() as workspace:
            register_run(workspace, manifest, register)
        console.print(f"recorded the run of {register}")
        return
    if snapshot is None:
        raise typer.BadParameter("give a snapshot (or --register ADAPTER_DIR)", param_hint="SNAPSHOT")

    settings = load_config(config)
    if max_steps is not None:
        settings = settings.model_copy(update={"max_steps": max_steps})
    with open_workspace() as workspace, progress_bar(disable=as_json) as bar:
        task = bar.add_task("preparing (snapshot, gates, export, base model)", total=None)

        def on_progress(step: int, total: int, logs: dict[str, float]) -> None:
            loss = logs.get("loss")
            text = f"training  loss {loss:.3f}" if loss is not None else "training"
            bar.update(task, completed=step, total=total or None, description=text)

        result = train(
            workspace,
            snapshot,
            base_model=base_model,
            out=out,
            config=settings,
            force=force,
            eval_suites=evals,
            progress=on_progress,
            overwrite=overwrite,
        )
    manifest = result.manifest
    if as_json:
        print_json(manifest.model_dump(mode="json") | {"adapter_dir": str(result.adapter_dir)})
        return
    m = manifest.metrics
    if manifest.forced:
        err_console.print("[yellow]forced past:[/] " + "; ".join(manifest.overridden_blockers))
    console.print(
        f"[green]adapter[/] {result.adapter_dir}  run {manifest.run_id}\n"
        f"  snapshot {manifest.snapshot_name} ({manifest.snapshot_id[:12]}), base {manifest.base_model} "
        f"({manifest.base_model_sha256[:12]})\n"
        f"  {m['steps']} steps on {m['train_rows']} rows ({m['assistant_tokens']} assistant tokens), "
        f"loss {_num(m['first_loss'])} -> {_num(m['last_loss'])}"
        + (f", eval loss {m['eval_loss']:.4f} on {m['valid_rows']} valid rows" if "eval_loss" in m else "")
        + f", {m['wall_seconds']} s on {m['device']}"
    )


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


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
    from trainer.evaluation.scorers import METRICS

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
    from curation.rommap import load_rom_map
    from curation.workspace import WorkspacePaths
    from pipelines.eval_suites import write_suite

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
    from trainer.evaluation.runner import (
        EvalReport,
        GenerationSettings,
        evaluate_model,
        load_suites,
        new_eval_id,
        read_responses,
        record_eval,
        score_responses,
        select_cases,
        suite_label,
        suite_sha256,
    )
    from trainer.gates import DEFAULT_SUITE

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
    from trainer.evaluation.runner import compare_eval_runs
    from trainer.evaluation.scorers import METRICS

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
    from trainer.evaluation.runner import list_eval_runs

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


@user_errors
def lineage_command(
    adapter: Annotated[str, typer.Argument(help="Adapter directory or training run id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The snapshot an adapter learned from, its samples' sources and reviewers, and its evals."""
    with open_workspace(read_only=True) as workspace:
        info = workspace.training_runs.lineage(adapter)  # adapter -> run -> snapshot -> sources, reviewers
    if as_json:
        print_json(info.as_dict())
        return
    run, snap = info.training_run, info.snapshot
    console.print(
        f"[bold]adapter[/] {run.adapter_path} (run {run.id}, base {run.base_model}, "
        f"{'forced, ' if run.forced else ''}finished {str(run.finished_at)[:19]})\n"
        f"[bold]snapshot[/] {snap.name} {snap.id[:12]}: {snap.members} samples, where {snap.where!r}, "
        f"content hash {'unchanged' if snap.content_hash_matches else '[red]CHANGED since training[/]'}"
    )
    sources = [(x.source_type, x.source_name, x.samples) for x in info.sources]
    console.print(simple_table("sources", ("source type", "source", "samples"), sources))
    if info.reviewers:
        reviewers = [(x.reviewer, x.decision, x.samples) for x in info.reviewers]
        console.print(simple_table("reviewers", ("reviewer", "decision", "samples"), reviewers))
    else:
        console.print("reviewers: none recorded (no member went through review)")
    for e in info.evals:
        console.print(f"eval {e.id} ({str(e.created_at)[:19]}): word mean {e.overall['word']['mean_score']:.3f}")


@user_errors
def serve_model_command(
    model: Annotated[str, typer.Argument(help="Adapter dir from triforge train, a model dir, or 'smollm2'")],
    host: Annotated[str, typer.Option(help="Interface; loopback unless you mean to share the model")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8008,
    api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding a key clients must send as Bearer")
    ] = None,
    max_tokens: Annotated[int, typer.Option(min=1, max=2048, help="Default completion length")] = 512,
) -> None:
    """Serve a model as an OpenAI-compatible /v1/chat/completions (for the teacher proposer and any OpenAI tool)."""
    import os

    import uvicorn

    from trainer.generation import load_model
    from trainer.serving import create_model_app

    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise typer.BadParameter(f"${api_key_env} is empty", param_hint="--api-key-env")
    if host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        raise typer.BadParameter("serving beyond loopback needs --api-key-env: anyone who can reach it could use it")
    with progress_bar(disable=False) as bar:
        bar.add_task(f"loading {model}", total=None)
        loaded = load_model(model, home=current_home())
    console.print(
        f"serving [bold]{loaded.name}[/] (base {loaded.base_model}) at http://{host}:{port}/v1 "
        f"as model {loaded.name!r}{' (Bearer key required)' if api_key else ''}"
    )
    uvicorn.run(create_model_app(loaded, api_key=api_key, default_max_tokens=max_tokens), host=host, port=port)


@user_errors
def loop_command(
    rounds: Annotated[int, typer.Option(min=1, max=100, help="Rounds to run (each waits for its reviews)")] = 1,
    n: Annotated[int, typer.Option("--n", min=1, max=10_000, help="Proposals per round")] = 20,
    base_model: Annotated[str, typer.Option(help="Base model the adapters are trained on")] = "smollm2",
    config: Annotated[Path | None, typer.Option(help="TOML or JSON overriding the LoRA/SFT defaults")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Optimizer steps per round (overrides epochs)")] = None,
    eval_suite: Annotated[Path | None, typer.Option(help="Keyword suite (default: bundled)")] = None,
    eval_limit: Annotated[int | None, typer.Option(help="At most N cases per suite in the round's evals")] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1, max=4096, help="Eval tokens per case")] = 256,
    proposal_tokens: Annotated[int, typer.Option(min=8, max=4096, help="Tokens per proposed answer")] = 512,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for reviews, or stop and resume later")] = True,
    poll: Annotated[float, typer.Option(min=0.1, help="Seconds between review checks while waiting")] = 30.0,
    timeout: Annotated[float | None, typer.Option(help="Stop waiting for reviews after this many seconds")] = None,
    review: Annotated[str, typer.Option(help="argilla, store, or auto (Argilla when `labeling up` runs)")] = "auto",
    consensus: Annotated[str, typer.Option(help="Argilla consensus: unanimous or majority")] = "unanimous",
    min_submitted: Annotated[int, typer.Option(min=1, max=20, help="Argilla responses per proposal")] = 1,
    status: Annotated[bool, typer.Option("--status", help="Only show every round's step states")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One Strategy-4 round per --rounds: propose with the current adapter, review, snapshot, train, eval.

    Every step records its state: after a crash, or after --no-wait, run it again and it resumes at
    the step that has not finished."""
    from pipelines.loop import LoopSettings, loop_status, run_round
    from trainer.sft import load_config

    if status:
        with open_workspace(read_only=True) as workspace:
            steps = loop_status(workspace)
        if as_json:
            print_json([asdict(x) for x in steps])
            return
        rows = [(x.round, x.step, x.status, x.updated_at, x.error) for x in steps]
        table = simple_table("loop steps", ("round", "step", "status", "updated", "error"), rows)
        console.print(table)
        return
    settings_config = load_config(config)
    if max_steps is not None:
        settings_config = settings_config.model_copy(update={"max_steps": max_steps})
    settings = LoopSettings(
        n=n,
        base_model=base_model,
        config=settings_config,
        eval_suite=eval_suite,
        eval_limit=eval_limit,
        max_new_tokens=max_new_tokens,
        proposal_tokens=proposal_tokens,
        wait=wait,
        poll_seconds=poll,
        timeout_seconds=timeout,
        consensus=consensus,
        min_submitted=min_submitted,
    )
    if review not in ("argilla", "store", "auto"):
        raise typer.BadParameter("argilla, store or auto", param_hint="--review")
    say = (lambda text: None) if as_json else (lambda text: err_console.print(text, highlight=False))
    outcomes = []
    with open_workspace() as workspace:
        if review != "store":
            from labeling.argilla.channel import open_channel
            from labeling.argilla.client import ArgillaTarget

            # Another server when the environment names one, else the workspace's local stack.
            settings.channel = open_channel(workspace, review, ArgillaTarget.from_environ())
        for _ in range(rounds):
            outcome = run_round(workspace, settings, say=say)
            outcomes.append(outcome)
            if not outcome.finished:
                break
    if as_json:
        print_json([asdict(o) for o in outcomes])
        return
    for o in outcomes:
        if not o.finished:
            console.print(
                f"round {o.round}: waiting for {o.waiting_for} review(s); decide them "
                "(triforge samples mark / correct) and run triforge loop again"
            )
            continue
        r = o.report
        assert r is not None
        e = r.eval
        console.print(
            f"[bold]round {o.round}[/]: {r.proposed} proposed, {r.approved_this_round} approved "
            f"(+{r.approved_after_correction} after correction); snapshot {r.snapshot.name} "
            f"({r.snapshot.members} samples); adapter {r.adapter.adapter_dir}\n"
            f"  eval {e.baseline} -> {e.adapter}: whole-word {e.word['a']:.3f} -> {e.word['b']:.3f} "
            f"({e.word['delta']:+.3f}), substring {e.substring['a']:.3f} -> {e.substring['b']:.3f} "
            f"({e.substring['delta']:+.3f})"
        )

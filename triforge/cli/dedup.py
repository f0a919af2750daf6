"""``triforge dedup ...`` and ``triforge contamination``: duplicates and eval leaks."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from curation.contamination import check_contamination
from curation.dedup.cascade import describe
from curation.dedup.distributed import EngineOptions, run_dedup_ray
from curation.dedup.minhash import MinHashParams
from curation.dedup.normalize import NormalizeOptions
from curation.dedup.report import render_report
from curation.dedup.run import DedupConfig, run_dedup
from curation.errors import Invalid
from triforge.cli.common import console, err_console, open_workspace, print_json, progress_bar, user_errors

app = typer.Typer(help="Exact and near-duplicate detection, and its reports.", no_args_is_help=True)


@app.command("run")
@user_errors
def run_command(
    method: Annotated[
        str, typer.Option(help="Comma-separated, run in order: exact,minhash,embedding")
    ] = "exact,minhash",
    where: Annotated[str | None, typer.Option("--where", "-w", help="Cluster only samples matching this")] = None,
    threshold: Annotated[float, typer.Option(help="MinHash: estimated Jaccard similarity for a pair")] = 0.55,
    num_perm: Annotated[int, typer.Option(help="MinHash: permutations")] = 128,
    shingle: Annotated[str, typer.Option(help="MinHash: word or char shingles")] = "word",
    shingle_size: Annotated[int, typer.Option(help="MinHash: tokens per shingle")] = 2,
    strip_comments: Annotated[bool, typer.Option(help="Ignore asm ; comments when comparing")] = False,
    embedding_threshold: Annotated[float, typer.Option(help="Embedding: cosine similarity for a pair")] = 0.95,
    model: Annotated[Path | None, typer.Option(help="Local sentence-transformers folder")] = None,
    embedding_backend: Annotated[
        str,
        typer.Option(
            help="Embedding: minilm (sentence-transformers), openvino-int8 (the same MiniLM quantised by NNCF, "
            "~6.4x faster on CPUs with VNNI/AMX, ~1.3x on AVX2 alone), onnx-int8 (ONNX Runtime int8), static "
            "(distilled; fast, low precision), cascade (a static model tuned on this workspace proposes, MiniLM or its "
            "int8 export decides) or tuned (that tuned model alone, on MiniLM's scale)"
        ),
    ] = "minilm",
    cascade_threshold: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            max=1.0,
            help="Cascade: the static stage's cosine for a candidate pair (default: where the tuned model's "
            "measured agreement recalls 95% of the decider's pairs)",
        ),
    ] = None,
    cascade_accept: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="Cascade: the static cosine above which a pair is kept without the decider (default: where the "
            "decider agreed on 99.5% of held-out pairs; above 1: the decider decides every pair)",
        ),
    ] = None,
    cascade_decider: Annotated[
        str,
        typer.Option(
            help="Cascade: auto (the fastest backend on this CPU, measured once), minilm, onnx-int8, openvino-int8"
        ),
    ] = "auto",
    engine: Annotated[
        str, typer.Option(help="local (incremental, persisted indexes) or ray (Ray Data: the whole corpus)")
    ] = "local",
    address: Annotated[
        str | None, typer.Option(help="ray: the cluster to run on, e.g. ray://head:10001 (default: local mode)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find duplicate clusters; keep one sample per cluster and mark the rest duplicate_of it."""

    try:
        params = MinHashParams(num_perm=num_perm, shingle=shingle, size=shingle_size, threshold=threshold)
    except ValueError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    config = DedupConfig(
        methods=tuple(m.strip() for m in method.split(",") if m.strip()),
        minhash=params,
        normalize=NormalizeOptions(strip_asm_comments=strip_comments),
        embedding_threshold=embedding_threshold,
        embedding_model=model,
        embedding_backend=embedding_backend,
        cascade_threshold=cascade_threshold,
        cascade_accept=cascade_accept,
        cascade_decider=cascade_decider,
    )
    with (
        open_workspace() as workspace,
        progress_bar(disable=as_json) as progress,
    ):
        tasks: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(f"{stage} (new samples)", total=total)
            progress.update(tasks[stage], completed=done, total=total)

        if engine == "local":
            run = run_dedup(workspace, where, config, progress=report)
        elif engine == "ray":
            run = run_dedup_ray(workspace, where, config, EngineOptions(address=address))
        else:
            raise Invalid(f"unknown engine {engine!r}; choose local or ray")
    summary = {
        "run": run.id,
        "samples": run.samples,
        "clusters": len(run.clusters),
        "duplicates": run.duplicates,
        "new_pairs": run.pairs_found,
        "newly_indexed": run.indexed,
        "seconds": run.seconds,
        **({"cascade": run.cascade} if run.cascade else {}),
        "largest": [{"representative": c.representative, "size": len(c.members)} for c in run.clusters[:10]],
    }
    if as_json:
        print_json(summary)
        return
    console.print(
        f"dedup run [bold]{run.id}[/]: {run.samples} samples, {len(run.clusters)} clusters, "
        f"{run.duplicates} marked duplicate"
    )
    table = Table(title="Methods", title_justify="left")
    for col in ("method", "newly indexed", "new pairs", "seconds"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for m in config.methods:
        table.add_row(m, str(run.indexed[m]), str(run.pairs_found[m]), f"{run.seconds[m]:.2f}")
    console.print(table)
    if run.cascade:
        console.print("\n".join(describe(run.cascade)))
    console.print(f"report: triforge dedup report {run.id} --format html --out dedup.html")


@app.command("report")
@user_errors
def report_command(
    run: Annotated[str, typer.Argument(help="Run id (or prefix), or 'latest'")],
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False)],
    format_name: Annotated[str, typer.Option("--format", "-f", help="html | md | json")] = "html",
) -> None:
    """Write a dedup report: summary, similarity histogram, each cluster with side-by-side diffs."""

    with open_workspace(read_only=True) as workspace:
        text = render_report(workspace, run, format_name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out} ({len(text):,} bytes)")


@app.command("list")
@user_errors
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    with open_workspace(read_only=True) as workspace:
        runs = workspace.dedup_runs.list()
    if as_json:
        print_json([asdict(r) for r in runs])
        return
    table = Table(title="Dedup runs")
    for col in ("run", "methods", "filter", "samples", "clusters", "duplicates", "created"):
        table.add_column(col)
    for r in runs:
        table.add_row(
            r.id, r.methods, r.where, str(r.samples), str(r.clusters), str(r.duplicates), str(r.created_at)[:19]
        )
    console.print(table)


@user_errors
def contamination_command(
    snapshot: Annotated[str, typer.Argument(help="Snapshot name or id")],
    evals: Annotated[list[Path], typer.Option("--evals", help="Eval files (triforce_eval_cases.json, router_*.jsonl)")],
    threshold: Annotated[
        float, typer.Option(help="Near leak: share of the eval prompt's 3-grams in one training prompt")
    ] = 0.6,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List eval cases whose prompts appear (exactly or nearly) among a snapshot's training prompts."""

    with open_workspace() as workspace:
        report = check_contamination(workspace, snapshot, evals, threshold=threshold)
    if as_json:
        print_json(report.as_dict())
        return
    colour = "red" if report.leaks else "green"
    console.print(
        f"[{colour}]{report.leaked_evals} of {report.evals} eval cases leak[/] into snapshot "
        f"{report.snapshot_id[:12]} ({len(report.leaks)} matching training samples); recorded for its card"
    )
    if report.leaks:
        table = Table()
        for col in ("eval", "kind", "containment", "jaccard", "sample", "eval prompt"):
            table.add_column(col, overflow="fold")
        for leak in report.leaks:
            table.add_row(
                f"{leak.eval_file}:{leak.eval_id}",
                leak.kind,
                f"{leak.containment:.2f}",
                f"{leak.jaccard:.2f}",
                leak.revision_id[:12],
                " ".join(leak.eval_prompt.split())[:80],
            )
        console.print(table)

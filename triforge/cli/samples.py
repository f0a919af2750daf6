"""``triforge samples ...`` and ``triforge stats``: look at the store and record decisions."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table

from curation.stats import dataset_stats
from curation.validators.runner import current_results
from triforge.cli.common import console, open_workspace, print_json, user_errors
from triforge.cli.remote import through_store_or_service

app = typer.Typer(help="List, inspect, approve, reject and correct samples.", no_args_is_help=True)

WhereOption = Annotated[
    str | None,
    typer.Option("--where", "-w", help='Filter, e.g. "kind = debug_dialogue and status in (proposed, approved)"'),
]


def _preview(text: str | None, width: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command("list")
@user_errors
def list_command(
    where: WhereOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List samples (oldest first) with their status and source."""
    with open_workspace(read_only=True) as workspace:
        rows = workspace.samples.list(where, limit=limit, offset=offset)
        total = workspace.samples.count(where)
    if as_json:
        print_json({"total": total, "offset": offset, "samples": rows})
        return
    table = Table(title=f"{len(rows)} of {total} samples")
    for col in ("id", "kind", "category", "status", "source", "answer"):
        table.add_column(col, overflow="fold" if col == "id" else "ellipsis", no_wrap=col != "answer")
    for r in rows:
        table.add_row(
            r["id"][:12],
            r["kind"],
            r["category"] or "-",
            r["status"],
            f"{r['source_type']}:{r['source_name']}",
            _preview(r["answer"]),
        )
    console.print(table)


@app.command("show")
@user_errors
def show_command(
    sample_id: Annotated[str, typer.Argument(help="Sample id or a unique prefix (6+ characters)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one sample: its conversation, metadata, provenance, status history and snapshots."""
    with open_workspace(read_only=True) as workspace:
        detail = workspace.samples.get(sample_id)
        validations = current_results(workspace, detail.id)
        reviews = workspace.reviews.for_sample(detail.id)
    rev = detail.revision
    if as_json:
        print_json(
            {
                "id": detail.id,
                "status": detail.status,
                "kind": rev.kind.value,
                "category": rev.category,
                "parent_id": rev.parent_id,
                "messages": [m.model_dump(mode="json") for m in rev.messages],
                "metadata": rev.metadata,
                "provenance": detail.provenance,
                "history": detail.history,
                "snapshots": detail.snapshots,
                "children": detail.children,
                "validations": [v.model_dump(exclude_none=True) for v in validations],
                "reviews": [asdict(r) for r in reviews],
            }
        )
        return
    console.print(
        f"[bold]{detail.id}[/]  {rev.kind.value}  category={rev.category or '-'}  status=[bold]{detail.status}[/]"
    )
    if rev.parent_id:
        console.print(f"correction of {rev.parent_id}")
    for m in rev.messages:
        console.print(Panel(Markdown(m.content), title=m.role.value, title_align="left"))
    console.print(Panel(json.dumps(rev.metadata, indent=2, ensure_ascii=False), title="metadata"))
    for p in detail.provenance:
        line = f":{p['source_line']}" if p["source_line"] else ""
        console.print(f"from {p['source_type']}:{p['source_name']} {p['source_file'] or ''}{line}")
    for h in detail.history:
        console.print(f"{h['recorded_at']}  {h['status']:<10} by {h['actor']}  {h['reason'] or ''}")
    print_validations(validations)
    print_reviews(reviews)
    if detail.snapshots:
        console.print("in snapshots: " + ", ".join(detail.snapshots))
    if detail.children:
        console.print("corrected as: " + ", ".join(detail.children))


def print_reviews(reviews) -> None:
    """Experts' responses from Argilla: the decision and every answer their kind's form asked for."""
    if not reviews:
        return
    table = Table(title="Reviews", title_justify="left")
    for col in ("reviewer", "status", "decision", "category", "answers"):
        table.add_column(col, overflow="fold")
    for r in reviews:
        answers = "; ".join(f"{k}: {v}" for k, v in sorted(r.answers.items()) if v not in (None, "", []))
        if r.corrected_answer:
            answers = f"corrected answer ({len(r.corrected_answer.split())} words); {answers}".rstrip("; ")
        table.add_row(r.reviewer, r.status, r.decision or "", r.category or "", answers)
    console.print(table)


def print_validations(validations) -> None:
    if not validations:
        console.print("validation: [yellow]not run yet[/] (triforge validate)")
        return
    table = Table(title="Validation", title_justify="left")
    for col in ("validator", "result", "score", "issue"):
        table.add_column(col, overflow="fold")
    colours = {"error": "red", "warning": "yellow", "info": "dim"}
    for v in validations:
        verdict = "[green]pass[/]" if v.passed else "[red]fail[/]"
        if not v.issues:
            table.add_row(v.validator, verdict, f"{v.score:.2f}", "")
        for i, issue in enumerate(v.issues):
            where = f" ({issue.location.describe()})" if issue.location and issue.location.describe() else ""
            text = f"[{colours[issue.severity]}]{issue.severity} {issue.code}[/]{where}: {issue.message}"
            table.add_row(
                v.validator if i == 0 else "", verdict if i == 0 else "", f"{v.score:.2f}" if i == 0 else "", text
            )
    console.print(table)


@app.command("mark")
@user_errors
def mark_command(
    sample_ids: Annotated[list[str], typer.Argument(help="Sample ids or unique prefixes")],
    status: Annotated[str, typer.Option(help="approved, rejected, in_review, proposed, draft")],
    by: Annotated[str, typer.Option(help="Who decided (recorded with the event)")] = "cli",
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record a status decision (approve, reject, ...) - appended, never overwritten.
    While the service holds the store, the decision goes through its API."""
    changed = through_store_or_service(
        lambda workspace: workspace.samples.set_status(sample_ids, status, actor=by, reason=reason),
        lambda service: service.mark(sample_ids, status, actor=by, reason=reason),
    )
    console.print(f"{len(changed)} sample(s) marked {status}")


@app.command("correct")
@user_errors
def correct_command(
    sample_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option(help="The expert making the correction")],
    answer_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="File with the corrected answer")
    ] = None,
    category: Annotated[str | None, typer.Option(help="Corrected category tag")] = None,
) -> None:
    """Correct a sample: writes a new revision linked to the original and supersedes it.
    While the service holds the store, the correction goes through its API."""
    answer = answer_file.read_text(encoding="utf-8") if answer_file else None
    new_id = through_store_or_service(
        lambda workspace: workspace.samples.correct(sample_id, actor=by, answer=answer, category=category),
        lambda service: service.correct(sample_id, actor=by, answer=answer, category=category),
    )
    console.print(f"new revision {new_id}")


@user_errors
def stats_command(
    where: WhereOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Counts by kind, category, source and status (optionally filtered)."""
    with open_workspace(read_only=True) as workspace:
        stats = dataset_stats(workspace, where)
    if as_json:
        print_json(stats.as_dict())
        return
    print_stats(stats)


def print_stats(stats, top: int | None = None) -> None:
    console.print(f"[bold]{stats.total}[/] samples")
    for name, counts in stats.by.items():
        table = Table(title=f"by {name}", title_justify="left")
        table.add_column(name)
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        items = list(counts.items())
        for key, n in items[:top] if top else items:
            table.add_row(key, str(n), f"{n / stats.total:.0%}" if stats.total else "-")
        if top and len(items) > top:
            table.add_row(f"... {len(items) - top} more", str(sum(n for _, n in items[top:])), "")
        console.print(table)

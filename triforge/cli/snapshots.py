"""``triforge snapshot ...``: freeze, list, compare and verify snapshots."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from triforge.cli.common import console, err_console, open_workspace, print_json, user_errors
from triforge.cli.remote import through_store_or_service

app = typer.Typer(help="Immutable, hashed sets of samples for export and training.", no_args_is_help=True)


@app.command("create")
@user_errors
def create_command(
    name: Annotated[str, typer.Argument()],
    where: Annotated[
        str | None, typer.Option("--where", "-w", help='e.g. "status = approved and kind = debug_dialogue"')
    ] = None,
    parent: Annotated[str | None, typer.Option(help="Snapshot this one refines (name or id)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Freeze the samples matching --where (all samples when omitted). While the service holds
    the store, it is created through its API (whose filters take no parentheses)."""
    snap = through_store_or_service(
        lambda workspace: workspace.snapshots.create(name, where, parent=parent),
        lambda service: service.create_snapshot(name, where, parent=parent),
    )
    if as_json:
        print_json(snap.model_dump(mode="json"))
        return
    console.print(f"snapshot [bold]{snap.name}[/] {snap.id} with {snap.member_count} samples")


@app.command("list")
@user_errors
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    with open_workspace(read_only=True) as workspace:
        snaps = workspace.snapshots.list()
    if as_json:
        print_json([s.model_dump(mode="json") for s in snaps])
        return
    table = Table(title="Snapshots")
    for col in ("name", "id", "samples", "filter", "created"):
        table.add_column(col)
    for s in snaps:
        table.add_row(s.name, s.id[:12], str(s.member_count), s.where, s.created_at.isoformat(timespec="seconds"))
    console.print(table)


@app.command("show")
@user_errors
def show_command(ref: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a snapshot's filter, hashes and counts by kind, category, source type and status."""
    with open_workspace(read_only=True) as workspace:
        snap = workspace.snapshots.resolve(ref)
    if as_json:
        print_json(snap.model_dump(mode="json"))
        return
    console.print(
        f"[bold]{snap.name}[/]  {snap.id}\nfilter: {snap.where}\nsamples: {snap.member_count}\n"
        f"content hash: {snap.content_hash}\nparent: {snap.parent_id or '-'}\n"
        f"created: {snap.created_at.isoformat(timespec='seconds')}"
    )
    for dim, counts in snap.counts.items():
        table = Table(title=f"by {dim} (when frozen)", title_justify="left")
        table.add_column(dim)
        table.add_column("count", justify="right")
        for key, n in counts.items():
            table.add_row(key, str(n))
        console.print(table)


@app.command("diff")
@user_errors
def diff_command(a: str, b: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Which samples are only in A, only in B, and in both."""
    with open_workspace(read_only=True) as workspace:
        diff = workspace.snapshots.diff(a, b)
    if as_json:
        print_json(diff.model_dump())
        return
    console.print(f"{len(diff.only_in_a)} only in {a}, {len(diff.only_in_b)} only in {b}, {diff.in_both} in both")
    for i in diff.only_in_a:
        console.print(f"[red]- {i}[/]")
    for i in diff.only_in_b:
        console.print(f"[green]+ {i}[/]")


@app.command("verify")
@user_errors
def verify_command(ref: str) -> None:
    """Recompute the snapshot's hashes from the stored members; exit 1 if anything changed."""
    with open_workspace(read_only=True) as workspace:
        snap = workspace.snapshots.resolve(ref)
        problems = workspace.snapshots.verify(ref)
    if problems:
        for p in problems:
            err_console.print(f"[bold red]FAIL[/] {p}")
        raise typer.Exit(1)
    console.print(f"[green]OK[/] {snap.name} {snap.id}: {snap.member_count} members intact")

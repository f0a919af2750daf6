"""``triforge store ...``: where the store is, what schema it has, migrating, backing it up,
restoring and verifying it.

``backup`` and ``verify`` work while ``triforge serve`` holds the store: they go through its API
(``triforge.cli.remote``), which takes the backup between two requests. ``restore`` replaces the
file, so it needs the store to itself and says which process to stop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curation.backup import restore_backup, write_backup
from curation.integrity import verify_store
from curation.migrations import MIGRATIONS
from triforge.cli.common import console, err_console, open_workspace, print_json, user_errors
from triforge.cli.remote import through_store_or_service

app = typer.Typer(help="The DuckDB store under $TRIFORGE_HOME.", no_args_is_help=True)


@app.command("info")
@user_errors
def info_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Path, schema version and row counts."""
    with open_workspace(read_only=True) as workspace:
        store = workspace.store
        counts = store.row_counts()
        info = {
            "path": str(store.path),
            "schema_version": store.schema_version,
            "latest_schema_version": MIGRATIONS[-1].version,
            "rows": counts,
        }
    if as_json:
        print_json(info)
        return
    console.print(f"store: {info['path']}\nschema version: {info['schema_version']}")
    for table, n in counts.items():
        console.print(f"  {table:<22} {n:>8}")


@app.command("migrate")
@user_errors
def migrate_command() -> None:
    """Bring an older store up to this Triforge's schema (opening for writing does it too)."""
    with open_workspace() as workspace:
        console.print(f"store {workspace.store.path} at schema version {workspace.store.schema_version}")


@app.command("backup")
@user_errors
def backup_command(
    folder: Annotated[Path, typer.Argument(help="A new or empty folder")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A consistent copy of the store and its manifest (hash, row counts). Works while the service runs."""

    manifest = through_store_or_service(
        lambda workspace: write_backup(workspace, folder), lambda service: service.backup(folder), read_only=True
    )
    if as_json:
        print_json(manifest.model_dump(mode="json"))
        return
    revisions = manifest.rows.get("revisions", 0)
    console.print(
        f"backed up {revisions} revisions ({manifest.total_rows} rows, schema {manifest.schema_version}, "
        f"{manifest.bytes / 1e6:.1f} MB) to {folder}\nsha256 {manifest.sha256}",
        highlight=False,
    )


@app.command("restore")
@user_errors
def restore_command(
    folder: Annotated[Path, typer.Argument(help="A folder written by `triforge store backup`")],
    force: Annotated[bool, typer.Option("--force", help="Replace a store that is not empty")] = False,
) -> None:
    """Make the backup this home's store (hash checked; refuses a non-empty store without --force)."""

    target = open_workspace().paths.store
    manifest = restore_backup(folder, target, force=force)
    console.print(
        f"restored {manifest.rows.get('revisions', 0)} revisions ({manifest.total_rows} rows) from {folder} "
        f"(backed up {manifest.created_at.isoformat(timespec='seconds')}) into {target}",
        highlight=False,
    )
    console.print("check it with `triforge store verify`; dedup indexes are rebuilt by the next `triforge dedup run`")


@app.command("verify")
@user_errors
def verify_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Re-hash every snapshot and every revision; exit 1 if anything changed. Works while the service runs."""
    check = through_store_or_service(verify_store, lambda service: service.verify(), read_only=True)
    if as_json:
        print_json(check.model_dump(mode="json"))
    else:
        for problem in check.revision_problems:
            err_console.print(f"[bold red]FAIL[/] {problem}", highlight=False)
        for snap in check.snapshots:
            for problem in snap.problems:
                err_console.print(f"[bold red]FAIL[/] snapshot {snap.name}: {problem}", highlight=False)
            if not snap.problems:
                console.print(f"[green]OK[/] snapshot {snap.name} {snap.id[:12]}: {snap.member_count} members intact")
        verdict = "[green]OK[/]" if check.ok else "[bold red]FAIL[/]"
        console.print(f"{verdict} {check.revisions} revisions, {len(check.snapshots)} snapshots checked")
    if not check.ok:
        raise typer.Exit(1)

"""``triforge store ...``: where the store is, what schema it has, and migrating it."""

from __future__ import annotations

from typing import Annotated

import typer

from curation.migrations import MIGRATIONS
from triforge.cli.common import console, open_store, print_json, user_errors

app = typer.Typer(help="The DuckDB store under $TRIFORGE_HOME.", no_args_is_help=True)

TABLES = (
    "revisions",
    "provenance",
    "status_events",
    "imports",
    "snapshots",
    "snapshot_members",
    "validation_results",
    "asm_cache",
)


@app.command("info")
@user_errors
def info_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Path, schema version and row counts."""
    with open_store(read_only=True) as store:
        counts = {t: store.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
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
        console.print(f"  {table:<17} {n:>8}")


@app.command("migrate")
@user_errors
def migrate_command() -> None:
    """Bring an older store up to this Triforge's schema (opening for writing does it too)."""
    with open_store() as store:
        console.print(f"store {store.path} at schema version {store.schema_version}")

"""``triforge export``: write a snapshot as training files with splits and a dataset card."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from curation.export import EXPORT_FORMATS, export_snapshot, parse_ratios
from triforge.cli.common import console, open_workspace, print_json, user_errors


@user_errors
def export_command(
    snapshot: Annotated[str, typer.Argument(help="Snapshot name or id")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, help="Output directory")],
    format_name: Annotated[str, typer.Option("--format", "-f", help=" | ".join(EXPORT_FORMATS))] = "chatml",
    split: Annotated[str, typer.Option(help="train,valid,test ratios")] = "0.8,0.1,0.1",
    seed: Annotated[int, typer.Option(help="Seed for the deterministic split")] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Export a snapshot; the same snapshot, format, split and seed give byte-identical files."""
    ratios = parse_ratios(split)
    with open_workspace(read_only=True) as workspace:
        result = export_snapshot(workspace, snapshot, format_name, out, ratios=ratios, seed=seed)
    if as_json:
        print_json(
            {
                "out_dir": str(result.out_dir),
                "snapshot_id": result.snapshot_id,
                "format": result.format,
                "files": result.files,
            }
        )
        return
    table = Table(title=f"{result.format} export of {result.snapshot_id[:12]} -> {result.out_dir}")
    for col in ("split", "file", "rows"):
        table.add_column(col)
    for f in result.files:
        table.add_row(f["split"], f["path"], str(f["rows"]))
    console.print(table)
    console.print(f"dataset card: {result.out_dir / 'README.md'}")

"""``triforge import``: land files in the store with line-numbered feedback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from curation.importers import import_files
from schemas.imports import ImportReport
from schemas.sample import Kind, SourceType
from triforge.cli.common import console, err_console, open_workspace, print_json, user_errors

MAX_ERRORS_SHOWN = 20
_PROGRESS_STEP = 256 * 1024


def print_import_report(report: ImportReport) -> None:
    table = Table(title="Import")
    for col in ("file", "format", "rows", "new", "existing", "malformed", "result"):
        table.add_column(col, justify="right" if col in ("rows", "new", "existing", "malformed") else "left")
    for f in report.files:
        outcome = "[red]aborted: nothing written[/]" if f.aborted else "[green]ok[/]"
        table.add_row(
            Path(f.file).name,
            f.format or "-",
            str(f.rows),
            str(f.new),
            str(f.existing),
            str(len(f.malformed)),
            outcome,
        )
    console.print(table)
    for f in report.files:
        for row in f.malformed[:MAX_ERRORS_SHOWN]:
            where = f"{f.file}:{row.line}" if row.line else f.file
            err_console.print(f"[yellow]{where}[/]: {row.error}", highlight=False, soft_wrap=True)
        if len(f.malformed) > MAX_ERRORS_SHOWN:
            err_console.print(
                f"[yellow]{f.file}[/]: ... and {len(f.malformed) - MAX_ERRORS_SHOWN} more "
                "(use --json for the full list)"
            )
    console.print(
        f"[bold]{report.new}[/] new, [bold]{report.existing}[/] already present, "
        f"[bold]{len(report.malformed)}[/] malformed"
    )


def run_import(
    files: list[Path],
    *,
    source: str | None,
    kind: Kind | None,
    source_type: SourceType | None,
    on_error: str,
    as_json: bool,
) -> ImportReport:
    with (
        open_workspace() as workspace,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
            disable=as_json,
        ) as progress,
    ):

        def on_file(path: Path):
            size = path.stat().st_size if path.is_file() else 0
            task = progress.add_task(path.name, total=size)
            pending = 0

            def advance(n: int) -> None:
                nonlocal pending
                pending += n
                if pending >= _PROGRESS_STEP:
                    progress.update(task, advance=pending)
                    pending = 0

            return advance

        return import_files(
            workspace,
            files,
            source_name=source,
            kind=kind,
            source_type=source_type,
            on_error=on_error,
            on_file=on_file,
        )  # type: ignore[arg-type]


@user_errors
def import_command(
    files: Annotated[list[Path], typer.Argument(help="JSONL files: chat, sharegpt, alpaca, teacher or benchmark rows")],
    source: Annotated[
        str | None,
        typer.Option(help="Source name recorded as provenance (default: the file name, or the teacher model)"),
    ] = None,
    kind: Annotated[Kind | None, typer.Option(help="Force the sample kind instead of inferring it")] = None,
    source_type: Annotated[SourceType | None, typer.Option(help="Force the provenance source type")] = None,
    on_error: Annotated[
        str,
        typer.Option(help="skip: land good rows, list bad ones; abort: write nothing from a file with any bad row"),
    ] = "skip",
    as_json: Annotated[bool, typer.Option("--json", help="Print {new, existing, malformed, files} as JSON")] = False,
) -> None:
    """Import samples; re-importing the same rows adds nothing."""
    if on_error not in ("skip", "abort"):
        err_console.print(f"[bold red]error:[/] --on-error must be skip or abort, not {on_error!r}")
        raise typer.Exit(2)
    report = run_import(files, source=source, kind=kind, source_type=source_type, on_error=on_error, as_json=as_json)
    if as_json:
        print_json(report.model_dump())
    else:
        print_import_report(report)
    if any(f.aborted for f in report.files):
        raise typer.Exit(1)

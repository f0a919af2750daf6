"""Shared CLI plumbing: consoles, opening the store, and turning user errors into clean messages.

Commands import heavy libraries inside their bodies, never at module level, so ``triforge --help``
stays fast even once torch, trl and argilla are installed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from curation.export.splits import SplitError
from curation.filters import FilterError
from curation.migrations import SchemaError
from curation.paths import store_path
from curation.store import Store, StoreError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

USER_ERRORS = (StoreError, FilterError, SchemaError, SplitError)


def user_errors(fn: F) -> F:
    """Print known, actionable errors in one red line and exit 2 - never a traceback for bad input."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def progress_bar(*, disable: bool) -> Progress:
    """The counting progress bar long commands show on stderr (off for ``--json``)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=disable,
    )


def open_store(*, read_only: bool = False) -> Store:
    return Store(store_path(), read_only=read_only)


def print_json(value: Any) -> None:
    """Machine-readable output goes to stdout unstyled, so it pipes into jq."""
    typer.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def simple_table(title: str, columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> Table:
    """A titled table of plain cells: most listings need nothing more."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    return table

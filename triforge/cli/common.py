"""Shared CLI plumbing: consoles, opening the store, and turning user errors into clean messages.

Commands import heavy libraries inside their bodies, never at module level, so ``triforge --help``
stays fast even once torch, trl and argilla are installed.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from curation.errors import StoreError, exit_code, storage_failure
from curation.workspace import Workspace
from labeling.argilla.client import ArgillaTarget, connector
from triforge.cli.home import current_home

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

# Every error a user can act on is a StoreError (NotFound, Conflict, Invalid, and the filter, split
# and schema errors that subclass them): one line in red, exit 2, never a traceback.
USER_ERRORS = (StoreError,)


def open_workspace(*, read_only: bool = False) -> Workspace:
    """The command's Workspace; its store opens on first use and closes with ``with``."""
    return Workspace(current_home(), read_only=read_only)


def argilla_connector(home: Path | None = None) -> Callable[[], Any]:
    """Argilla at ``ARGILLA_API_URL``/``ARGILLA_API_KEY`` when both are set (read here, the entry point),
    else the workspace's local stack; connected when called."""
    return connector(home or current_home(), ArgillaTarget.from_environ())


def argilla_client() -> Any:
    """The Argilla client a command works with (see :func:`argilla_connector`)."""
    return argilla_connector()()


def user_errors(fn: F) -> F:
    """Print known, actionable errors in one red line and exit 2 - never a traceback for bad input."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exit_code(exc)) from None
        except Exception as exc:  # a full disk or a read-only home is the user's to fix, not a traceback
            storage = storage_failure(exc)
            if storage is None:
                raise
            err_console.print(f"[bold red]error:[/] {storage}", highlight=False, soft_wrap=True)
            raise typer.Exit(exit_code(storage)) from None

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


def print_json(value: Any) -> None:
    """Machine-readable output goes to stdout unstyled, so it pipes into jq. A NaN or infinity (a store
    written before imports refused them) prints as null: bare ``NaN`` is not JSON."""
    typer.echo(json.dumps(_finite(value), indent=2, default=str, ensure_ascii=False, allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def simple_table(title: str, columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> Table:
    """A titled table of plain cells: most listings need nothing more."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    return table

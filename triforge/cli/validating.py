"""``triforge validate``: run the validators over the store, with progress and a summary."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from curation.validators.asar import AsarNotFound
from curation.validators.runner import validate_samples
from triforge.cli.common import console, err_console, open_workspace, print_json, progress_bar, user_errors


def print_validation_summary(run) -> None:
    console.print(
        f"[bold]{run.samples}[/] samples: [green]{run.passed} passed[/], [red]{run.failed} failed[/], "
        f"{run.samples - run.passed - run.failed} pending"
    )
    table = Table(title="Validators", title_justify="left")
    for col in ("validator", "ran", "reused", "passed", "failed", "pass rate"):
        table.add_column(col, justify="left" if col == "validator" else "right")
    for name, s in run.validators.items():
        rate = f"{s.pass_rate:.0%}" if s.pass_rate is not None else "-"
        table.add_row(name, str(s.ran), str(s.reused), str(s.passed), str(s.failed), rate)
    console.print(table)
    top = run.top_issues()
    if top:
        issues = Table(title="Top issue codes", title_justify="left")
        for col in ("validator", "code", "count"):
            issues.add_column(col, justify="right" if col == "count" else "left")
        for validator, code, count in top:
            issues.add_row(validator, code, str(count))
        console.print(issues)


@user_errors
def validate_command(
    where: Annotated[str | None, typer.Option("--where", "-w", help="Only samples matching this filter")] = None,
    validator: Annotated[list[str] | None, typer.Option("--validator", "-v", help="Run only these validators")] = None,
    force: Annotated[bool, typer.Option(help="Re-run even where a current result is stored")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Validate samples (format, assembly, terminology, anti-patterns, length, quest structure)."""

    with (
        open_workspace() as workspace,
        progress_bar(disable=as_json) as progress,
    ):
        task = progress.add_task("validating", total=None)
        try:
            run = validate_samples(
                workspace,
                where,
                only=validator,
                force=force,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        except (AsarNotFound, KeyError) as exc:
            err_console.print(f"[bold red]error:[/] {exc.args[0]}")
            raise typer.Exit(2) from None
    if as_json:
        print_json(run.as_dict())
    else:
        print_validation_summary(run)

"""``triforge generate``: run a proposer and see at once what its proposals are worth."""

from __future__ import annotations

from typing import Annotated

import typer

from triforge.cli.common import console, err_console, open_store, print_json, progress_bar, user_errors


@user_errors
def generate_command(
    name: Annotated[str, typer.Argument(help="Generator: bug_injection or quest_templates")],
    n: Annotated[int, typer.Option("--n", min=1, max=100_000, help="How many proposals")] = 100,
    seed: Annotated[int, typer.Option(help="Same seed, same proposals")] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Generate proposals, store them with provenance, validate and dedup-check them."""
    from generators.run import run_generator

    with open_store() as store, progress_bar(disable=as_json) as progress:
        tasks: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            summary = run_generator(store, name, n, seed, progress=report)
        except KeyError as exc:
            err_console.print(f"[bold red]error:[/] {exc.args[0]}")
            raise typer.Exit(2) from None
    if as_json:
        print_json(summary.as_dict())
        return
    console.print(
        f"{summary.generator} seed {summary.seed}: made {summary.made} ({summary.new} new), "
        f"[green]{summary.valid} valid[/], [red]{summary.rejected_by_validators} rejected by validators[/], "
        f"{summary.duplicates} near or exact duplicates ({summary.exact_duplicates} exact)"
    )

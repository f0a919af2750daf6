"""The ``triforge`` command: one Typer app fronting every capability."""

from __future__ import annotations

import importlib
import logging
import os
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
import typer.main
from typer.core import TyperGroup

from curation.paths import HOME_ENV
from triforge import __version__
from triforge.cli.home import set_home

# Every command, in the order ``triforge --help`` lists them: its name -> (module, the Typer app or command
# function in it). A module is imported when its command runs (``--help`` imports them all to list them),
# so ``triforge samples list`` does not pay for the trainer's, the service's or the review stack's imports.
# A new command is one line here beside its module.
COMMANDS: dict[str, tuple[str, str]] = {
    "import": ("triforge.cli.importing", "import_command"),
    "stats": ("triforge.cli.samples", "stats_command"),
    "validate": ("triforge.cli.validating", "validate_command"),
    "classify": ("triforge.cli.classify", "classify_command"),
    "contamination": ("triforge.cli.dedup", "contamination_command"),
    "serve": ("triforge.cli.serve", "serve_command"),
    "generate": ("triforge.cli.generate", "generate_command"),
    "export": ("triforge.cli.exporting", "export_command"),
    "demo": ("triforge.cli.demo", "demo_command"),
    "train": ("triforge.cli.training", "train_command"),
    "lineage": ("triforge.cli.training", "lineage_command"),
    "serve-model": ("triforge.cli.training", "serve_model_command"),
    "loop": ("triforge.cli.loop", "loop_command"),
    "samples": ("triforge.cli.samples", "app"),
    "snapshot": ("triforge.cli.snapshots", "app"),
    "store": ("triforge.cli.store", "app"),
    "dedup": ("triforge.cli.dedup", "app"),
    "rom-map": ("triforge.cli.rommap", "app"),
    "keys": ("triforge.cli.serve", "keys_app"),
    "eval": ("triforge.cli.evaluating", "eval_app"),
    "experiment": ("triforge.cli.experiment", "app"),
    "labeling": ("triforge.cli.labeling", "app"),
    "review": ("triforge.cli.labeling", "review_app"),
    "reviewers": ("triforge.cli.reviewers", "app"),
    "propose": ("triforge.cli.propose", "app"),
}


class LazyCommands(TyperGroup):
    """The root group: it knows its commands by name and imports each one's module on first use (Click's
    "lazily loading subcommands" pattern, over Typer's own conversion of an app or a function)."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> typer.main.click.Command | None:
        if cmd_name in COMMANDS:
            return _command(cmd_name)
        return super().get_command(ctx, cmd_name)


@cache
def _command(name: str) -> typer.main.click.Command:
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


app = typer.Typer(
    cls=LazyCommands,
    name="triforge",
    help="Curate SNES 65816 fine-tuning data: import, validate, review, snapshot, export, train.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"triforge {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    home: Annotated[
        Path | None,
        typer.Option("--home", envvar="TRIFORGE_HOME", help="State directory (default ./.triforge)"),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option("--log-level", envvar="TRIFORGE_LOG_LEVEL", help="Log to stderr at this level (e.g. info)"),
    ] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    set_home(home)  # --home or $TRIFORGE_HOME (Typer reads the variable): the one place the CLI learns it
    if home is not None:
        os.environ[HOME_ENV] = str(home)  # for the processes a command starts (service, labeling stack)
    if log_level:
        level = logging.getLevelName(log_level.upper())
        if not isinstance(level, int):
            raise typer.BadParameter(f"unknown log level {log_level!r}", param_hint="--log-level")
        # Triforge's own loggers only: the libraries' chatter stays at WARNING.
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.WARNING)
        for name in ("curation", "labeling", "generators", "trainer", "triforge"):
            logging.getLogger(name).setLevel(level)


def main() -> None:
    app()

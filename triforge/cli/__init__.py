"""The ``triforge`` command: one Typer app fronting every capability."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from curation.workspace import HOME_ENV
from triforge import __version__
from triforge.cli import dedup, experiment, labeling, propose, reviewers, rommap, samples, serve, snapshots, store
from triforge.cli.classify import classify_command
from triforge.cli.common import set_home
from triforge.cli.demo import demo_command
from triforge.cli.evaluating import eval_app
from triforge.cli.exporting import export_command
from triforge.cli.generate import generate_command
from triforge.cli.importing import import_command
from triforge.cli.loop import loop_command
from triforge.cli.training import lineage_command, serve_model_command, train_command
from triforge.cli.validating import validate_command

app = typer.Typer(
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


app.command("import")(import_command)
app.command("stats")(samples.stats_command)
app.command("validate")(validate_command)
app.command("classify")(classify_command)
app.command("contamination")(dedup.contamination_command)
app.command("serve")(serve.serve_command)
app.command("generate")(generate_command)
app.command("export")(export_command)
app.command("demo")(demo_command)
app.command("train")(train_command)
app.command("lineage")(lineage_command)
app.command("serve-model")(serve_model_command)
app.command("loop")(loop_command)
app.add_typer(samples.app, name="samples")
app.add_typer(snapshots.app, name="snapshot")
app.add_typer(store.app, name="store")
app.add_typer(dedup.app, name="dedup")
app.add_typer(rommap.app, name="rom-map")
app.add_typer(serve.keys_app, name="keys")
app.add_typer(eval_app, name="eval")
app.add_typer(experiment.app, name="experiment")
app.add_typer(labeling.app, name="labeling")
app.add_typer(labeling.review_app, name="review")
app.add_typer(reviewers.app, name="reviewers")
app.add_typer(propose.app, name="propose")


def main() -> None:
    app()

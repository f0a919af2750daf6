"""``triforge reviewers add|list|remove|reset-password``: Argilla logins for the people who review.

A password is generated and printed once, or read from stdin (``--password-stdin``) - never taken as
an argument, which every local user could read in ``ps``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from labeling.argilla.reviewers import (
    InvalidReviewer,
    add_reviewer,
    generate_password,
    list_reviewers,
    remove_reviewer,
    reset_password,
)
from triforge.cli.common import argilla_client, console, err_console, print_json, simple_table, user_errors

app = typer.Typer(no_args_is_help=True, help="Reviewers: Argilla users of the Triforge workspace.")

PASSWORD_STDIN = typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin instead of generating one"
)


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password, and whether it was generated (and so must be shown)."""
    if not from_stdin:
        return generate_password(), True
    line = sys.stdin.readline()
    if not line.strip():
        raise InvalidReviewer("--password-stdin: no password on stdin")
    return line.rstrip("\r\n"), False


def _ui_url(client: object) -> str:
    return str(getattr(client, "api_url", "")).rstrip("/")


def _handout(name: str, url: str, password: str | None) -> None:
    console.print(f"{name} signs in at {url}" + (f" with password [bold]{password}[/]" if password else ""))
    if password:
        err_console.print("[yellow]the password is shown this once; `reviewers reset-password` makes a new one[/]")


@app.command("add")
@user_errors
def add_command(
    name: Annotated[str, typer.Argument(help="The reviewer's Argilla username")],
    role: Annotated[
        str, typer.Option(help="annotator (answers records) or curator (Argilla admin of the workspace)")
    ] = "annotator",
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an Argilla user in the Triforge workspace and print its login (the password once)."""

    password, generated = _password(password_stdin)
    client = argilla_client()
    reviewer = add_reviewer(client, name, role, password)
    shown = password if generated else None
    if as_json:
        print_json({**reviewer.as_dict(), "url": _ui_url(client), **({"password": shown} if shown else {})})
        return
    console.print(f"added {reviewer.role} {reviewer.username} to workspace triforge")
    _handout(reviewer.username, _ui_url(client), shown)


@app.command("list")
@user_errors
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every reviewer (non-owner Argilla user), its role, and whether it is in the Triforge workspace."""
    reviewers = list_reviewers(argilla_client())
    if as_json:
        print_json([r.as_dict() for r in reviewers])
        return
    rows = [(r.username, r.role, "yes" if r.in_workspace else "no") for r in reviewers]
    console.print(simple_table("reviewers", ("username", "role", "in workspace triforge"), rows))


@app.command("reset-password")
@user_errors
def reset_password_command(
    name: Annotated[str, typer.Argument(help="The reviewer's Argilla username")],
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Give a reviewer a new password (generated and shown once, or from stdin)."""

    password, generated = _password(password_stdin)
    client = argilla_client()
    reviewer = reset_password(client, name, password)
    shown = password if generated else None
    if as_json:
        print_json({**reviewer.as_dict(), "url": _ui_url(client), **({"password": shown} if shown else {})})
        return
    console.print(f"new password for {reviewer.username}")
    _handout(reviewer.username, _ui_url(client), shown)


@app.command("remove")
@user_errors
def remove_command(
    name: Annotated[str, typer.Argument(help="The reviewer's Argilla username")],
    delete: Annotated[
        bool,
        typer.Option(help="Also delete the Argilla account - and the responses Argilla holds from it (pull first)"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Take a reviewer out of the Triforge workspace (their responses stay); --delete removes the account."""

    reviewer = remove_reviewer(argilla_client(), name, delete=delete)
    if as_json:
        print_json({**reviewer.as_dict(), "deleted": delete})
        return
    console.print(f"removed {reviewer.username} from workspace triforge" + ("; account deleted" if delete else ""))

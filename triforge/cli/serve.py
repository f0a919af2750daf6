"""``triforge serve`` (the community API) and ``triforge keys`` (who may use it)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from triforge.cli.common import console, open_store, print_json, user_errors

keys_app = typer.Typer(help="API keys for the HTTP service (roles: contributor, curator, admin).", no_args_is_help=True)


@user_errors
def serve_command(
    host: Annotated[str, typer.Option(help="Interface; keep 127.0.0.1 unless a proxy fronts it")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    requests_per_minute: Annotated[int, typer.Option(min=1)] = 60,
    max_body_kb: Annotated[int, typer.Option(min=1)] = 512,
    argilla_webhook_url: Annotated[
        str | None,
        typer.Option(help="Also pull records Argilla completes: the URL Argilla posts to, ending /argilla/webhook"),
    ] = None,
    consensus: Annotated[
        str, typer.Option(help="Review consensus for the webhook: unanimous or majority")
    ] = "unanimous",
    min_submitted: Annotated[int, typer.Option(min=1, max=20, help="Responses needed before deciding")] = 1,
) -> None:
    """Serve the community API and submission page. The service owns the store while it runs."""
    import uvicorn

    from labeling.api import ServiceSettings, create_app

    settings = ServiceSettings(
        requests_per_minute=requests_per_minute, max_body_bytes=max_body_kb * 1024,
        argilla_webhook_url=argilla_webhook_url, review_rule=consensus, review_min_submitted=min_submitted,
    )  # fmt: skip
    console.print(f"Triforge API on http://{host}:{port} (docs: /docs, submission page: /submit)")
    if argilla_webhook_url:
        console.print(f"pulling records Argilla completes (webhook {argilla_webhook_url})")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@keys_app.command("create")
@user_errors
def create_command(
    role: Annotated[str, typer.Option(help="contributor | curator | admin")],
    name: Annotated[str, typer.Option(help="Who the key belongs to (recorded as provenance)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a key and show it once; only its hash is stored."""
    from labeling.api.keys import create_key

    with open_store() as store:
        key, secret = create_key(store, name, role)
    if as_json:
        print_json({"id": key.id, "name": key.name, "role": key.role, "key": secret})
        return
    console.print(f"key for [bold]{key.name}[/] ({key.role}), shown once:\n{secret}")


@keys_app.command("list")
@user_errors
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    from labeling.api.keys import list_keys

    with open_store(read_only=True) as store:
        keys = list_keys(store)
    if as_json:
        print_json([k.__dict__ for k in keys])
        return
    table = Table(title="API keys")
    for col in ("id", "name", "role", "created", "revoked"):
        table.add_column(col)
    for k in keys:
        table.add_row(k.id, k.name, k.role, str(k.created_at)[:19], str(k.revoked_at)[:19] if k.revoked_at else "")
    console.print(table)


@keys_app.command("revoke")
@user_errors
def revoke_command(key_id: Annotated[str, typer.Argument(help="The key id (tf_ + 8 characters)")]) -> None:
    from labeling.api.keys import revoke_key

    with open_store() as store:
        key = revoke_key(store, key_id)
    console.print(f"revoked {key.id} ({key.name}) at {str(key.revoked_at)[:19]}")

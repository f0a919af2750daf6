"""``triforge serve`` (the community API) and ``triforge keys`` (who may use it).

``keys create|list|revoke`` work while the service runs: they go through its admin routes
(``triforge.cli.remote``), and a key created or revoked counts at once.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
import uvicorn
from rich.table import Table

from curation.errors import Invalid
from curation.workspace import Workspace, WorkspacePaths
from labeling.api.app import create_app
from labeling.api.discovery import write_private
from labeling.api.service import untrusted_assembler
from labeling.api.settings import ServiceSettings
from labeling.api.slow_clients import protocol_with_head_timeout
from triforge.cli.common import argilla_connector, console, current_home, print_json, user_errors
from triforge.cli.remote import through_store_or_service

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
    head_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a client has to send a request's line and headers")
    ] = 10.0,
    assembler_timeout: Annotated[
        float, typer.Option(min=0.1, max=30, help="Seconds Asar may spend on one submission's code")
    ] = 2.0,
) -> None:
    """Serve the community API and submission page. The service owns the store while it runs."""

    # The URL CLI writers use while this holds the store (service.json): loopback when bound to all interfaces.
    local_host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
    settings = ServiceSettings(
        requests_per_minute=requests_per_minute, max_body_bytes=max_body_kb * 1024,
        argilla_webhook_url=argilla_webhook_url, review_rule=consensus, review_min_submitted=min_submitted,
        service_url=f"http://{local_host}:{port}", assembler_timeout=assembler_timeout,
    )  # fmt: skip
    untrusted_assembler(settings)  # no sandbox, no service: one line now rather than a failed startup later
    console.print(f"Triforge API on http://{host}:{port} (docs: /docs, submission page: /submit)")
    if argilla_webhook_url:
        console.print(f"pulling records Argilla completes (webhook {argilla_webhook_url})")
    # The entry point: the workspace (--home / $TRIFORGE_HOME) and Argilla's address are read here, once.
    home = current_home()
    argilla = argilla_connector(home) if argilla_webhook_url else None
    uvicorn.run(
        create_app(Workspace(home), settings, argilla=argilla),
        host=host, port=port, log_level="info", http=protocol_with_head_timeout(head_timeout),
    )  # fmt: skip


@keys_app.command("create")
@user_errors
def create_command(
    role: Annotated[str, typer.Option(help="contributor | curator | admin")],
    name: Annotated[str, typer.Option(help="Who the key belongs to (recorded as provenance)")],
    save_admin_key: Annotated[
        bool,
        typer.Option(
            "--save-admin-key",
            help="Also write this admin key to $TRIFORGE_HOME/admin.key (mode 600), where CLI "
            "writes find it to go through a running service",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a key and show it once; only its hash is stored. Works while the service runs."""

    if save_admin_key and role != "admin":
        raise Invalid("--save-admin-key is for admin keys (the service's admin routes need one)")
    key, secret = through_store_or_service(
        lambda workspace: workspace.keys.create(name, role),
        lambda service: service.create_key(name.strip(), role),
    )
    admin_key_file = WorkspacePaths(current_home()).admin_key
    if save_admin_key:
        write_private(admin_key_file, secret + "\n")
    if as_json:
        print_json({"id": key.id, "name": key.name, "role": key.role, "key": secret})
        return
    console.print(f"key for [bold]{key.name}[/] ({key.role}), shown once:\n{secret}")
    if save_admin_key:
        console.print(f"saved to {admin_key_file} (mode 600)")


@keys_app.command("list")
@user_errors
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List keys (never their secrets). Works while the service runs."""
    keys = through_store_or_service(
        lambda workspace: workspace.keys.list(), lambda service: service.list_keys(), read_only=True
    )
    if as_json:
        print_json([asdict(k) for k in keys])
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
    """Revoke a key: it is refused (401) from the next request on. Works while the service runs."""
    key = through_store_or_service(
        lambda workspace: workspace.keys.revoke(key_id), lambda service: service.revoke_key(key_id)
    )
    console.print(f"revoked {key.id} ({key.name}) at {str(key.revoked_at)[:19]}")

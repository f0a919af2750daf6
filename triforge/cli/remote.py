"""CLI writes that keep working while ``triforge serve`` holds the store.

DuckDB lets one process write the file. When the holder is the running service (its
``service.json`` names the same pid), a command sends its change through the service's API with the
admin key (``TRIFORGE_ADMIN_KEY`` or the workspace's ``admin.key``) instead of failing - so an
operator never stops the service to give someone a key or record a decision. Any other holder
still gets the lock error naming it. The CLI is an entry point: this is where those two variables
are read, and the library is handed their values.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from curation.store import StoreLockedError
from curation.workspace import Workspace
from labeling.api.client import ServiceClient, client_for_locked_store
from labeling.api.discovery import ADMIN_KEY_ENV
from triforge.cli.common import current_home, err_console, open_workspace

T = TypeVar("T")


def through_store_or_service(
    local: Callable[[Workspace], T], remote: Callable[[ServiceClient], T], *, read_only: bool = False
) -> T:
    """Run ``local`` on the workspace, or ``remote`` on the service's API when the service holds its store."""
    workspace = open_workspace(read_only=read_only)
    try:
        _ = workspace.store  # opens the file now: a lock held by the service shows here
    except StoreLockedError as exc:
        client = client_for_locked_store(exc, current_home(), os.environ.get(ADMIN_KEY_ENV))
        note = f"the store is held by triforge serve (pid {client.info.pid}): sent through {client.url}"
        err_console.print(note, highlight=False, soft_wrap=True)
        with client:
            return remote(client)
    with workspace:
        return local(workspace)

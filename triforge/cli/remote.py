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

from curation.store import Store, StoreLockedError
from labeling.api.client import ServiceClient, client_for_locked_store
from labeling.api.discovery import ADMIN_KEY_ENV
from triforge.cli.common import current_home, err_console, open_store

T = TypeVar("T")


def through_store_or_service(
    local: Callable[[Store], T], remote: Callable[[ServiceClient], T], *, read_only: bool = False
) -> T:
    """Run ``local`` on the store, or ``remote`` on the service's API when the service holds it."""
    try:
        store = open_store(read_only=read_only)
    except StoreLockedError as exc:
        client = client_for_locked_store(exc, current_home(), os.environ.get(ADMIN_KEY_ENV))
        note = f"the store is held by triforge serve (pid {client.info.pid}): sent through {client.url}"
        err_console.print(note, highlight=False, soft_wrap=True)
        with client:
            return remote(client)
    with store:
        return local(store)

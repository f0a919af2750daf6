"""CLI writes that keep working while ``triforge serve`` holds the store.

DuckDB lets one process write the file. When the holder is the running service (its
``service.json`` names the same pid), a command sends its change through the service's API with the
admin key (``TRIFORGE_ADMIN_KEY`` or ``$TRIFORGE_HOME/admin.key``) instead of failing - so an
operator never stops the service to give someone a key or record a decision. Any other holder
still gets the lock error naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from curation.paths import triforge_home
from curation.store import Store, StoreLockedError
from labeling.api.client import ServiceClient, client_for_locked_store
from triforge.cli.common import err_console, open_store

T = TypeVar("T")


def through_store_or_service(
    local: Callable[[Store], T], remote: Callable[[ServiceClient], T], *, read_only: bool = False
) -> T:
    """Run ``local`` on the store, or ``remote`` on the service's API when the service holds it."""
    try:
        store = open_store(read_only=read_only)
    except StoreLockedError as exc:
        client = client_for_locked_store(exc, triforge_home())
        note = f"the store is held by triforge serve (pid {client.info.pid}): sent through {client.url}"
        err_console.print(note, highlight=False, soft_wrap=True)
        with client:
            return remote(client)
    with store:
        return local(store)

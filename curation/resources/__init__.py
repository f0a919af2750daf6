"""The store's resources as nouns on a :class:`~curation.workspace.Workspace`, each owning its SQL.

``Resource`` is the small base they share: it holds the workspace and reaches the store through it,
so a resource never opens a second connection (DuckDB allows one writer per file).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from curation.store import Store
    from curation.workspace import Workspace


class Resource:
    """One kind of thing in the store (samples, snapshots, reviews, ...)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def store(self) -> Store:
        return self.workspace.store


__all__ = ["Resource"]

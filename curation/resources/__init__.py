"""The store's resources as nouns on a :class:`~curation.workspace.Workspace`, each owning its SQL.

``Resource`` is the small base they share: it holds the workspace and reaches the store through it,
so a resource never opens a second connection (DuckDB allows one writer per file).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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

    def _dicts(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        """The rows ``sql`` returns, each as a dict keyed by column name."""
        cursor = self.store.con.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


__all__ = ["Resource"]

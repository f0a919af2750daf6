"""One rule for naming things by id: a full id, or a unique prefix of at least six characters (like git).

Samples, snapshots, dedup runs, evaluations, training runs and API keys are all found through
:func:`resolve_prefix`, so "ambiguous" and "not found" mean the same everywhere and map to the same
exit code and HTTP status (:mod:`curation.errors`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from curation.errors import Conflict, Invalid, NotFound

if TYPE_CHECKING:
    from curation.store import Store

MIN_PREFIX = 6


def resolve_prefix(store: Store, table: str, ref: str, *, noun: str, column: str = "id", hint: str = "") -> str:
    """The full id in ``table.column`` that ``ref`` names; ``noun`` words the errors ("sample", ...)."""
    ref = ref.strip()
    if len(ref) < MIN_PREFIX:
        raise Invalid(f"give at least {MIN_PREFIX} characters of a {noun} id")
    rows = store.con.execute(
        f"SELECT {column} FROM {table} WHERE starts_with(lower({column}), ?) ORDER BY {column} LIMIT 2",
        [ref.lower()],
    ).fetchall()
    if not rows:
        raise NotFound(f"no {noun} with id {ref}{hint}")
    if len(rows) > 1 and rows[0][0].lower() != ref.lower():
        raise Conflict(f"{noun} id prefix {ref} is ambiguous; give more characters")
    return rows[0][0]


__all__ = ["MIN_PREFIX", "resolve_prefix"]

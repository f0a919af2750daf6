"""Reading samples and recording what happens to them (status changes, corrections).

Revisions are never updated in place. A status change is a new row in ``status_events``; a
correction is a new revision whose ``parent_id`` is the original, and the original is marked
``superseded``. That is what keeps snapshots immutable and every judgement traceable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from curation.clock import utc_now
from curation.errors import Conflict
from curation.filters import compile_filter
from curation.ids import resolve_prefix
from curation.importers.service import PendingRevision, write_revisions
from curation.store import Store, StoreError
from schemas.sample import SAMPLE_STATUSES, Message, Provenance, Role, SampleRevision, SourceType

SUMMARY_COLUMNS = ("id", "kind", "category", "status", "source_type", "source_name", "created_at")


@dataclass
class SampleDetail:
    revision: SampleRevision
    id: str
    status: str
    provenance: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


def revision_from_row(row: dict[str, Any]) -> SampleRevision:
    """Rebuild a revision from a ``revisions``/``samples`` row (messages/metadata are JSON text)."""
    return SampleRevision(
        kind=row["kind"],
        category=row["category"],
        messages=tuple(Message(**m) for m in json.loads(row["messages"])),
        metadata=json.loads(row["metadata"]),
        parent_id=row["parent_id"],
        provenance=Provenance(source_type=row["source_type"], source_name=row["source_name"]),
        created_at=row["created_at"],
    )


def content_problem(row: dict[str, Any], noun: str) -> str | None:
    """Why a stored row no longer is the revision its id names, or None. Ids are content hashes, so
    re-deriving the id from the stored columns is the whole integrity check (snapshot and store verify)."""
    try:
        recomputed = revision_from_row(row).id
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        return f"{noun} {row['id']} no longer parses as a sample: {str(exc).splitlines()[0]}"
    if recomputed != row["id"]:
        return f"{noun} {row['id']} content no longer matches its id"
    return None


def _rows(store: Store, sql: str, params: list[object] | None = None) -> list[dict[str, Any]]:
    cursor = store.con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def count_samples(store: Store, where: str | None = None) -> int:
    flt = compile_filter(where)
    return store.con.execute(f"SELECT count(*) FROM samples WHERE {flt.sql}", flt.params).fetchone()[0]


def list_samples(store: Store, where: str | None = None, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Summary rows (no message bodies), oldest first, for listings and the API's search."""
    flt = compile_filter(where)
    cols = ", ".join(SUMMARY_COLUMNS)
    return _rows(
        store,
        f"SELECT {cols}, json_extract_string(messages, '$[#-1].content') AS answer "
        f"FROM samples WHERE {flt.sql} ORDER BY created_at, id LIMIT ? OFFSET ?",
        [*flt.params, limit, offset],
    )


def resolve_id(store: Store, id_or_prefix: str) -> str:
    """Accept a full id or a unique prefix (at least 6 characters), like git does."""
    return resolve_prefix(store, "revisions", id_or_prefix, noun="sample")


def get_sample(store: Store, id_or_prefix: str) -> SampleDetail:
    sample_id = resolve_id(store, id_or_prefix)
    row = _rows(store, "SELECT * FROM samples WHERE id = ?", [sample_id])[0]
    return SampleDetail(
        revision=revision_from_row(row),
        id=sample_id,
        status=row["status"],
        provenance=_rows(
            store,
            "SELECT source_type, source_name, source_file, source_line, recorded_at, original "
            "FROM provenance WHERE revision_id = ? ORDER BY recorded_at, source_file, source_line",
            [sample_id],
        ),
        history=_rows(
            store,
            "SELECT status, actor, reason, recorded_at FROM status_events WHERE revision_id = ? ORDER BY seq",
            [sample_id],
        ),
        snapshots=[
            r[0]
            for r in store.con.execute(
                "SELECT s.name FROM snapshot_members m JOIN snapshots s ON s.id = m.snapshot_id "
                "WHERE m.revision_id = ? ORDER BY s.created_at",
                [sample_id],
            ).fetchall()
        ],
        children=[
            r[0]
            for r in store.con.execute(
                "SELECT id FROM revisions WHERE parent_id = ? ORDER BY created_at", [sample_id]
            ).fetchall()
        ],
    )


def set_status(store: Store, ids: list[str], status: str, *, actor: str, reason: str | None = None) -> list[str]:
    """Record a status change for each sample; returns the full ids changed."""
    if status not in SAMPLE_STATUSES:
        raise StoreError(f"unknown status {status!r}; expected one of: {', '.join(SAMPLE_STATUSES)}")
    full_ids = [resolve_id(store, i) for i in ids]
    record_status_events(store, [(sample_id, status, actor, reason) for sample_id in full_ids])
    return full_ids


def record_status_events(store: Store, events: Sequence[tuple[str, str, str, str | None]]) -> None:
    """Append (full revision id, status, actor, reason) events in one insert, in order.

    For callers that already hold full ids and write many at once (a page of review decisions):
    a row-by-row insert costs about a millisecond each in DuckDB."""
    unknown = {status for _, status, _, _ in events} - set(SAMPLE_STATUSES)
    if unknown:
        raise StoreError(f"unknown status {sorted(unknown)}; expected one of: {', '.join(SAMPLE_STATUSES)}")
    now = utc_now()
    with store.transaction():
        store.insert_rows(
            "status_events",
            ("revision_id", "status", "actor", "reason", "recorded_at"),
            [[*event, now] for event in events],
        )


def derive_revision(
    parent_id: str,
    original: SampleRevision,
    *,
    provenance: Provenance,
    metadata: dict[str, Any],
    answer: str | None = None,
    category: str | None = None,
    question: str | None = None,
) -> SampleRevision:
    """A child of ``original`` (whose full id is ``parent_id``) with a new final answer and/or category
    (and/or ``question``: a new last user turn before the answer, e.g. a quest's corrected design).

    Shared by everything that revises a sample - an expert's correction, a proposed repair - so every
    child is linked and hashed the same way. Raises StoreError when the child would change nothing.
    """
    messages = list(original.messages)
    if answer is not None:
        messages[-1] = Message(role=messages[-1].role, content=answer)
    if question is not None:
        asked = [i for i, m in enumerate(messages[:-1]) if m.role == Role.user]
        if not asked:
            raise StoreError("the sample has no question to correct")
        messages[asked[-1]] = Message(role=Role.user, content=question)
    child = SampleRevision(
        kind=original.kind,
        category=category if category is not None else original.category,
        messages=tuple(messages),
        metadata=metadata,
        parent_id=parent_id,
        provenance=provenance,
    )
    if child.identity() == {**original.identity(), "parent_id": parent_id}:
        raise Conflict("the correction changes nothing: give a new answer or category")
    return child


def build_correction(
    store: Store,
    id_or_prefix: str,
    *,
    actor: str,
    answer: str | None = None,
    category: str | None = None,
    question: str | None = None,
) -> tuple[str, SampleRevision]:
    """The child revision an expert's correction makes, not yet written, and its parent's full id.

    Kept apart from writing so a caller can validate the correction first (assembling takes time)
    and then write it, its verdict and its approval in one transaction.
    """
    parent = get_sample(store, id_or_prefix)
    original = parent.revision
    child = derive_revision(
        parent.id,
        original,
        answer=answer,
        category=category,
        question=question,
        metadata={**original.metadata, "corrected_by": actor},
        # The correction is the expert's work; where the corrected text came from stays on the parent.
        provenance=Provenance(
            source_type=SourceType.expert,
            source_name=actor,
            original={
                "correction_of": parent.id,
                "by": actor,
                "parent_source": f"{original.provenance.source_type}:{original.provenance.source_name}",
            },
        ),
    )
    return parent.id, child


def write_child(store: Store, child: SampleRevision, *, actor: str, status: str, import_id: str) -> bool:
    """Write a derived revision (and its provenance) inside the caller's transaction; True if it was new.

    Writing the same child again adds nothing: its id is its content."""
    return write_revisions(store, [PendingRevision(child, status, 0)], import_id=import_id, actor=actor) > 0


def write_correction(
    store: Store, parent_id: str, child: SampleRevision, *, actor: str, status: str = "proposed"
) -> str:
    """Write a correction from ``build_correction`` and supersede its parent, atomically."""
    with store.transaction() as con:
        write_child(store, child, actor=actor, status=status, import_id=f"correction:{parent_id[:12]}")
        con.execute(
            "INSERT INTO status_events (revision_id, status, actor, reason, recorded_at) VALUES (?, ?, ?, ?, ?)",
            [parent_id, "superseded", actor, f"corrected as {child.id}", utc_now()],
        )
    return child.id


def correct_sample(
    store: Store,
    id_or_prefix: str,
    *,
    actor: str,
    answer: str | None = None,
    category: str | None = None,
    status: str = "proposed",
) -> str:
    """Write an expert's correction as a child revision and supersede the original.

    Returns the new revision's id. The original stays in every snapshot that holds it.
    """
    parent_id, child = build_correction(store, id_or_prefix, actor=actor, answer=answer, category=category)
    return write_correction(store, parent_id, child, actor=actor, status=status)

"""Samples as values: a revision rebuilt from its stored row, a row checked against its content-derived id,
a child derived from a revision (a correction, a repair), and what ``workspace.samples.get`` returns.

No SQL here: reading samples and recording what happens to them is ``curation/resources/samples.py``.
Revisions are never updated in place. A status change is a new row in ``status_events``; a
correction is a new revision whose ``parent_id`` is the original, and the original is marked
``superseded``. That is what keeps snapshots immutable and every judgement traceable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from curation.errors import Conflict
from curation.store import StoreError
from schemas.sample import Message, Provenance, Role, SampleRevision


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

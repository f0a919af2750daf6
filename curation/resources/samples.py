"""``workspace.samples``: find, list, count, mark and correct samples (the ``samples`` view)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from curation.clock import utc_now
from curation.errors import StoreError
from curation.filters import compile_filter
from curation.resources import Resource
from curation.resources.ids import resolve_prefix
from curation.samples import SampleDetail, derive_revision, revision_from_row
from schemas.sample import SAMPLE_STATUSES, Provenance, SampleRevision, SourceType, canonical_json

SUMMARY_COLUMNS = ("id", "kind", "category", "status", "source_type", "source_name", "created_at")
# What curators check a dataset's balance by: each dimension's grouping expression over the samples view.
BALANCE_DIMENSIONS = {
    "kind": "kind",
    "category": "coalesce(category, '(none)')",
    "source": "source_type || ':' || source_name",
    "status": "status",
}


@dataclass(frozen=True)
class VerdictCounts:
    """How a set of revisions fared: validated, failed, or a near/exact duplicate of another."""

    valid: int
    failed: int
    duplicates: int


@dataclass(frozen=True)
class PendingRevision:
    """A revision about to be written: its initial status, source line and the original row's JSON.

    ``original_json`` is the line exactly as read when there is one, which keeps provenance faithful
    and saves re-serialising every row.
    """

    revision: SampleRevision
    status: str
    line: int
    original_json: str | None = None


# The rows a write lands, as one Arrow table DuckDB reads in place (``incoming_rows`` in ``Samples.write``).
_INCOMING = pa.schema(
    [
        *[
            (name, pa.string())
            for name in (
                "id",
                "parent_id",
                "kind",
                "category",
                "messages",
                "metadata",
                "source_type",
                "source_name",
                "source_file",
            )
        ],
        ("source_line", pa.int32()),
        ("original", pa.string()),
        ("status", pa.string()),
        ("import_id", pa.string()),
        ("created_at", pa.timestamp("us")),
    ]
)


def _revision_table(items: list[PendingRevision], created_at: datetime, import_id: str) -> pa.Table:
    cols: dict[str, list] = {name: [] for name in _INCOMING.names}
    for item in items:
        revision = item.revision
        prov = revision.provenance
        cols["id"].append(revision.id)
        cols["parent_id"].append(revision.parent_id)
        cols["kind"].append(revision.kind.value)
        cols["category"].append(revision.category)
        cols["messages"].append(canonical_json([m.model_dump(mode="json") for m in revision.messages]))
        cols["metadata"].append(canonical_json(revision.metadata))
        cols["source_type"].append(prov.source_type.value)
        cols["source_name"].append(prov.source_name)
        cols["source_file"].append(prov.source_file)
        cols["source_line"].append(item.line)
        cols["original"].append(item.original_json or canonical_json(prov.original))
        cols["status"].append(item.status)
        cols["import_id"].append(import_id)
        cols["created_at"].append(created_at)
    return pa.table(cols, schema=_INCOMING)


class Samples(Resource):
    def resolve(self, id_or_prefix: str) -> str:
        """Accept a full id or a unique prefix (at least 6 characters), like git does."""
        return resolve_prefix(self.store, "revisions", id_or_prefix, noun="sample")

    def get(self, id_or_prefix: str) -> SampleDetail:
        sample_id = self.resolve(id_or_prefix)
        row = self._dicts("SELECT * FROM samples WHERE id = ?", [sample_id])[0]
        return SampleDetail(
            revision=revision_from_row(row),
            id=sample_id,
            status=row["status"],
            provenance=self._dicts(
                "SELECT source_type, source_name, source_file, source_line, recorded_at, original "
                "FROM provenance WHERE revision_id = ? ORDER BY recorded_at, source_file, source_line",
                [sample_id],
            ),
            history=self._dicts(
                "SELECT status, actor, reason, recorded_at FROM status_events WHERE revision_id = ? ORDER BY seq",
                [sample_id],
            ),
            snapshots=[
                r[0]
                for r in self.store.con.execute(
                    "SELECT s.name FROM snapshot_members m JOIN snapshots s ON s.id = m.snapshot_id "
                    "WHERE m.revision_id = ? ORDER BY s.created_at",
                    [sample_id],
                ).fetchall()
            ],
            children=[
                r[0]
                for r in self.store.con.execute(
                    "SELECT id FROM revisions WHERE parent_id = ? ORDER BY created_at", [sample_id]
                ).fetchall()
            ],
        )

    def count(self, where: str | None = None) -> int:
        flt = compile_filter(where)
        return self.store.con.execute(f"SELECT count(*) FROM samples WHERE {flt.sql}", flt.params).fetchone()[0]

    def list(self, where: str | None = None, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Summary rows (no message bodies), oldest first, for listings and the API's search."""
        flt = compile_filter(where)
        cols = ", ".join(SUMMARY_COLUMNS)
        return self._dicts(
            f"SELECT {cols}, json_extract_string(messages, '$[#-1].content') AS answer "
            f"FROM samples WHERE {flt.sql} ORDER BY created_at, id LIMIT ? OFFSET ?",
            [*flt.params, limit, offset],
        )

    def set_status(self, ids: list[str], status: str, *, actor: str, reason: str | None = None) -> list[str]:
        """Record a status change for each sample; returns the full ids changed."""
        if status not in SAMPLE_STATUSES:
            raise StoreError(f"unknown status {status!r}; expected one of: {', '.join(SAMPLE_STATUSES)}")
        full_ids = [self.resolve(i) for i in ids]
        self.record_status_events([(sample_id, status, actor, reason) for sample_id in full_ids])
        return full_ids

    def record_status_events(self, events: Sequence[tuple[str, str, str, str | None]]) -> None:
        """Append (full revision id, status, actor, reason) events in one insert, in order.

        For callers that already hold full ids and write many at once (a page of review decisions):
        a row-by-row insert costs about a millisecond each in DuckDB."""
        unknown = {status for _, status, _, _ in events} - set(SAMPLE_STATUSES)
        if unknown:
            raise StoreError(f"unknown status {sorted(unknown)}; expected one of: {', '.join(SAMPLE_STATUSES)}")
        now = utc_now()
        with self.store.transaction():
            self.store.insert_rows(
                "status_events",
                ("revision_id", "status", "actor", "reason", "recorded_at"),
                [[*event, now] for event in events],
            )

    def build_correction(
        self,
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
        parent = self.get(id_or_prefix)
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

    def write(self, items: list[PendingRevision], *, import_id: str, actor: str) -> int:
        """Insert revisions, provenance and initial status inside the caller's transaction.

        Returns how many revisions were new.
        Shared by every proposer: imports, generators, the API's submissions, corrections and repairs.
        """
        if not items:
            return 0
        con = self.store.con
        incoming = _revision_table(items, utc_now(), import_id)
        con.register("incoming_rows", incoming)
        try:
            new = con.execute(
                "SELECT count(DISTINCT id) FROM incoming_rows WHERE id NOT IN (SELECT id FROM revisions)"
            ).fetchone()[0]
            con.execute(
                """
                INSERT INTO status_events (revision_id, status, actor, reason, recorded_at)
                SELECT DISTINCT ON (id) id, status, ?, 'imported', created_at
                FROM incoming_rows WHERE id NOT IN (SELECT id FROM revisions)
                ORDER BY id, source_line
                """,
                [actor],
            )
            con.execute(
                """
                INSERT INTO revisions
                SELECT DISTINCT ON (id) id, parent_id, kind, category, messages, metadata,
                       source_type, source_name, created_at
                FROM incoming_rows WHERE id NOT IN (SELECT id FROM revisions)
                ORDER BY id, source_line
                """
            )
            con.execute(
                """
                INSERT INTO provenance
                SELECT i.id, i.source_type, i.source_name, i.source_file, i.source_line, i.original,
                       i.import_id, i.created_at
                FROM incoming_rows i
                WHERE NOT EXISTS (
                    SELECT 1 FROM provenance p
                    WHERE p.revision_id = i.id AND p.source_name = i.source_name
                      AND p.source_file IS NOT DISTINCT FROM i.source_file
                      AND p.source_line IS NOT DISTINCT FROM i.source_line
                )
                """
            )
        finally:
            con.unregister("incoming_rows")
        return new

    def record_import(self, row: list[object]) -> None:
        """One ``imports`` row: a file's import, with what it added and what it could not read."""
        self.store.con.execute("INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

    def write_child(self, child: SampleRevision, *, actor: str, status: str, import_id: str) -> bool:
        """Write a derived revision (and its provenance) inside the caller's transaction; True if it was new.

        Writing the same child again adds nothing: its id is its content."""
        return self.write([PendingRevision(child, status, 0)], import_id=import_id, actor=actor) > 0

    def write_correction(self, parent_id: str, child: SampleRevision, *, actor: str, status: str = "proposed") -> str:
        """Write a correction from ``build_correction`` and supersede its parent, atomically."""
        with self.store.transaction():
            self.write_child(child, actor=actor, status=status, import_id=f"correction:{parent_id[:12]}")
            self.record_status_events([(parent_id, "superseded", actor, f"corrected as {child.id}")])
        return child.id

    def correct(
        self,
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
        parent_id, child = self.build_correction(id_or_prefix, actor=actor, answer=answer, category=category)
        return self.write_correction(parent_id, child, actor=actor, status=status)

    def exists(self, revision_id: str) -> bool:
        return self.store.con.execute("SELECT 1 FROM revisions WHERE id = ?", [revision_id]).fetchone() is not None

    def all_ids(self) -> list[str]:
        return [r[0] for r in self.store.con.execute("SELECT id FROM revisions ORDER BY id").fetchall()]

    def total(self) -> int:
        """How many revisions are stored: the table, not the view, so a health check stays cheap."""
        return self.store.con.execute("SELECT count(*) FROM revisions").fetchone()[0]

    def revisions(self, ids: Sequence[str] | None = None) -> list[SampleRevision]:
        """The revisions ``ids`` name (every stored one when None), in id order."""
        sql = "SELECT * FROM samples"
        params: list[object] = []
        if ids is not None:
            sql += " WHERE id IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(ids))
        return [revision_from_row(row) for row in self._dicts(sql + " ORDER BY id", params)]

    def rows(self, where: str | None = None, *, oldest_first: bool = False) -> list[dict[str, Any]]:
        """Every column of the ``samples`` view for the samples ``where`` selects, in id order (or creation
        order): what a step that turns rows into revisions itself (``revision_from_row``) and reads their
        verdicts needs."""
        flt = compile_filter(where)
        order = "created_at, id" if oldest_first else "id"
        return self._dicts(f"SELECT * FROM samples WHERE {flt.sql} ORDER BY {order}", flt.params)

    def stored_rows(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every row of the ``revisions`` table as stored, in id order, fetched ``batch`` at a time (the
        integrity check recomputes each id from its content)."""
        cursor = self.store.con.execute("SELECT * FROM revisions ORDER BY id")
        names = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(batch):
            for values in rows:
                yield dict(zip(names, values, strict=True))

    def latest_children(
        self, parent_ids: Sequence[str], *, source_prefix: str, source_types: Sequence[str] | None = None
    ) -> dict[str, tuple[str, str, str]]:
        """parent id -> (id, source name, messages JSON) of its newest child whose source name starts with
        ``source_prefix`` (and whose source type is one of ``source_types``, when given): a repair."""
        if not parent_ids:
            return {}
        params: list[object] = [list(parent_ids), source_prefix]
        types = ""
        if source_types is not None:
            types = "AND source_type IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(source_types))
        rows = self.store.con.execute(
            "SELECT parent_id, arg_max(id, created_at), arg_max(source_name, created_at), "
            "arg_max(messages, created_at) FROM revisions "
            f"WHERE parent_id IN (SELECT unnest(?::VARCHAR[])) AND starts_with(source_name, ?) {types} "
            "GROUP BY parent_id",
            params,
        ).fetchall()
        return {parent: (rid, name, messages) for parent, rid, name, messages in rows}

    def balance(self, where: str | None = None) -> tuple[int, dict[str, dict[str, int]]]:
        """(how many samples ``where`` selects, their counts by kind, category, source and status)."""
        flt = compile_filter(where)
        total = self.store.con.execute(f"SELECT count(*) FROM samples WHERE {flt.sql}", flt.params).fetchone()[0]
        counts = {}
        for name, expr in BALANCE_DIMENSIONS.items():
            rows = self.store.con.execute(
                f"SELECT {expr} AS k, count(*) AS n FROM samples WHERE {flt.sql} GROUP BY k ORDER BY n DESC, k",
                flt.params,
            ).fetchall()
            counts[name] = {k: n for k, n in rows}
        return total, counts

    def messages(self, ids: Sequence[str]) -> list[tuple[str, str]]:
        """(revision id, its messages as stored JSON) for ``ids`` (those that exist), in no set order."""
        return self.store.con.execute(
            "SELECT id, messages FROM revisions WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)]
        ).fetchall()

    def dedup_candidates(self, where: str | None = None) -> list[tuple[str, bool, float | None, Any]]:
        """(id, approved, validation score, created at) of the samples ``where`` selects: what a dedup run
        needs to pick each cluster's representative."""
        flt = compile_filter(where)
        return self.store.con.execute(
            f"SELECT id, status = 'approved', validation_score, created_at FROM samples WHERE {flt.sql}", flt.params
        ).fetchall()

    def export_messages(self, target: Path) -> None:
        """Every stored revision's ``(id, messages)`` as one Parquet file (for engines off the store)."""
        self.store.con.execute(f"COPY (SELECT id, messages FROM revisions ORDER BY id) TO '{target}' (FORMAT parquet)")

    def source_lines(self) -> list[tuple[str, str, int]]:
        """(revision id, source file, line) for every imported occurrence: where each sample came from."""
        rows = self.store.con.execute(
            "SELECT revision_id, source_file, source_line FROM provenance WHERE source_line IS NOT NULL"
        ).fetchall()
        return [(rid, str(f or ""), int(line)) for rid, f, line in rows]

    def verdicts(self, ids: Sequence[str]) -> VerdictCounts:
        """Counts over ``ids`` from the view: passed validation, failed it, marked a duplicate."""
        rows = self.store.con.execute(
            "SELECT validation, duplicate_of FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)]
        ).fetchall()
        return VerdictCounts(
            valid=sum(v == "passed" for v, _ in rows),
            failed=sum(v == "failed" for v, _ in rows),
            duplicates=sum(d is not None for _, d in rows),
        )


__all__ = ["PendingRevision", "Samples", "VerdictCounts"]

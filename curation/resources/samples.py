"""``workspace.samples``: find, list, count, mark and correct samples (the ``samples`` view)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation import samples as _samples
from curation.filters import compile_filter
from curation.resources import Resource
from curation.samples import SampleDetail, revision_from_row
from schemas.sample import SampleRevision

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


class Samples(Resource):
    def resolve(self, id_or_prefix: str) -> str:
        return _samples.resolve_id(self.store, id_or_prefix)

    def get(self, id_or_prefix: str) -> SampleDetail:
        return _samples.get_sample(self.store, id_or_prefix)

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
        cur = self.store.con.execute(sql + " ORDER BY id", params)
        names = [d[0] for d in cur.description]
        return [revision_from_row(dict(zip(names, row, strict=True))) for row in cur.fetchall()]

    def rows(self, where: str | None = None, *, oldest_first: bool = False) -> list[dict[str, Any]]:
        """Every column of the ``samples`` view for the samples ``where`` selects, in id order (or creation
        order): what a step that turns rows into revisions itself (``revision_from_row``) and reads their
        verdicts needs."""
        flt = compile_filter(where)
        order = "created_at, id" if oldest_first else "id"
        cursor = self.store.con.execute(f"SELECT * FROM samples WHERE {flt.sql} ORDER BY {order}", flt.params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

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

    def count(self, where: str | None = None) -> int:
        return _samples.count_samples(self.store, where)

    def list(self, where: str | None = None, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        return _samples.list_samples(self.store, where, limit=limit, offset=offset)

    def set_status(self, ids: list[str], status: str, *, actor: str, reason: str | None = None) -> list[str]:
        return _samples.set_status(self.store, ids, status, actor=actor, reason=reason)

    def correct(self, id_or_prefix: str, *, actor: str, answer: str | None, category: str | None) -> str:
        return _samples.correct_sample(self.store, id_or_prefix, actor=actor, answer=answer, category=category)

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


__all__ = ["Samples", "VerdictCounts"]

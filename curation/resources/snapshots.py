"""``workspace.snapshots``: freeze, find, list, diff and verify immutable snapshots, and keep the
contamination checks run against them.

A snapshot stores member *revision ids*; revisions are immutable and statuses live in events, so a
snapshot keeps meaning the same thing after samples are corrected, rejected or re-imported. Its id
is the hash of its sorted member ids; ``content_hash`` also covers every member's stored content
and metadata, so ``verify`` detects a store edited behind Triforge's back.
"""

from __future__ import annotations

import json
import random

from curation.clock import utc_now
from curation.errors import Conflict, Invalid, NotFound, StoreError
from curation.filters import compile_filter
from curation.resources import Resource
from curation.resources.ids import resolve_prefix
from curation.samples import content_problem, revision_from_row
from curation.store import Store
from schemas.sample import SampleRevision, canonical_json, sha256_hex
from schemas.snapshot import Snapshot, SnapshotDiff, snapshot_id_for

COUNT_DIMENSIONS = {
    "kind": "kind",
    "category": "coalesce(category, '(none)')",
    "source_type": "source_type",
    "status": "status",
}


def _content_hash(store: Store, snapshot_ids_sql: str, params: list[object]) -> str:
    rows = store.con.execute(
        f"SELECT id, messages, metadata FROM revisions WHERE id IN ({snapshot_ids_sql}) ORDER BY id", params
    ).fetchall()
    return sha256_hex(canonical_json([[i, json.loads(m), json.loads(md)] for i, m, md in rows]))


def _snapshot_from_row(row: tuple) -> Snapshot:
    sid, name, where, parent, count, content_hash, counts, created = row
    return Snapshot(
        id=sid,
        name=name,
        where=where,
        parent_id=parent,
        member_count=count,
        content_hash=content_hash,
        counts=json.loads(counts),
        created_at=created,
    )


_SELECT = "SELECT id, name, where_clause, parent_id, member_count, content_hash, counts, created_at FROM snapshots"


class Snapshots(Resource):
    def resolve(self, ref: str) -> Snapshot:
        """Find a snapshot by name, full id or unique id prefix."""
        row = self.store.con.execute(f"{_SELECT} WHERE name = ?", [ref]).fetchone()
        if row:
            return _snapshot_from_row(row)
        try:
            snapshot_id = resolve_prefix(self.store, "snapshots", ref, noun="snapshot")
        except Invalid:  # too short to be an id prefix, and no snapshot has that name
            raise NotFound(f"no snapshot named or with id {ref}") from None
        row = self.store.con.execute(f"{_SELECT} WHERE id = ?", [snapshot_id]).fetchone()
        return _snapshot_from_row(row)

    def create(
        self,
        name: str,
        where: str | None = None,
        *,
        parent: str | None = None,
        exist_ok: bool = False,
        reuse_same_members: bool = False,
        sample: int | None = None,
        sample_seed: int = 0,
    ) -> Snapshot:
        """Freeze the samples matching ``where``. Refuses an empty selection and reused names.

        With ``exist_ok`` an identical request (same name, same members) returns the existing snapshot,
        which makes scripted pipelines such as ``triforge demo`` safe to re-run. With ``reuse_same_members``
        an existing snapshot holding exactly these samples is returned whatever its name. ``sample`` keeps a
        random ``sample`` of the matches (the same ones for the same ``sample_seed`` and store): arms of an
        experiment compared at one size. The snapshot's filter text then says so.
        """
        name = name.strip()
        if not name:
            raise StoreError("a snapshot needs a name")
        flt = compile_filter(where)
        parent_id = self.resolve(parent).id if parent else None
        member_ids = [
            r[0]
            for r in self.store.con.execute(
                f"SELECT id FROM samples WHERE {flt.sql} ORDER BY id", flt.params
            ).fetchall()
        ]
        if not member_ids:
            raise Conflict(f"the filter {where!r} matches no samples; nothing to snapshot")
        described = where or "all"
        if sample is not None:
            if sample < 1:
                raise Invalid("a sample size is at least 1")
            if sample > len(member_ids):
                raise Conflict(
                    f"the filter {where!r} matches {len(member_ids)} samples, fewer than the {sample} asked for"
                )
            described += f" (a random {sample} of {len(member_ids)}, seed {sample_seed})"
            member_ids = sorted(random.Random(sample_seed).sample(member_ids, sample))
        snapshot_id = snapshot_id_for(member_ids)
        existing = self.store.con.execute(f"{_SELECT} WHERE id = ? OR name = ?", [snapshot_id, name]).fetchall()
        for row in existing:
            other = _snapshot_from_row(row)
            if exist_ok and other.id == snapshot_id and other.name == name:
                return other
            if reuse_same_members and other.id == snapshot_id:
                return other
            if other.id == snapshot_id:
                raise Conflict(f"snapshot {other.name} ({other.id[:12]}) already holds exactly these samples")
            raise Conflict(f"a snapshot named {name!r} already exists ({other.id[:12]}); names are never reused")

        counts: dict[str, dict[str, int]] = {}
        for dim, expr in COUNT_DIMENSIONS.items():
            rows = self.store.con.execute(
                f"SELECT {expr} AS k, count(*) FROM samples "
                "WHERE id IN (SELECT unnest(?::VARCHAR[])) GROUP BY k ORDER BY k",
                [member_ids],
            ).fetchall()
            counts[dim] = {k: n for k, n in rows}
        with self.store.transaction() as con:
            con.execute("CREATE TEMP TABLE IF NOT EXISTS pending_members (revision_id VARCHAR)")
            con.execute("DELETE FROM pending_members")
            con.execute("INSERT INTO pending_members SELECT unnest(?::VARCHAR[])", [member_ids])
            content_hash = _content_hash(self.store, "SELECT revision_id FROM pending_members", [])
            snapshot = Snapshot(
                id=snapshot_id,
                name=name,
                where=described,
                parent_id=parent_id,
                member_count=len(member_ids),
                content_hash=content_hash,
                counts=counts,
                created_at=utc_now(),
            )
            con.execute(
                "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    snapshot.id,
                    snapshot.name,
                    snapshot.where,
                    snapshot.parent_id,
                    snapshot.member_count,
                    snapshot.content_hash,
                    json.dumps(snapshot.counts),
                    snapshot.created_at,
                ],
            )
            con.execute("INSERT INTO snapshot_members SELECT ?, revision_id FROM pending_members", [snapshot.id])
            con.execute("DELETE FROM pending_members")
        return snapshot

    def list(self) -> list[Snapshot]:
        return [
            _snapshot_from_row(r) for r in self.store.con.execute(f"{_SELECT} ORDER BY created_at, name").fetchall()
        ]

    def member_ids(self, ref: str) -> list[str]:
        snapshot_id = self.resolve(ref).id
        return [
            r[0]
            for r in self.store.con.execute(
                "SELECT revision_id FROM snapshot_members WHERE snapshot_id = ? ORDER BY revision_id",
                [snapshot_id],
            ).fetchall()
        ]

    def _member_rows(self, snapshot_id: str) -> list[dict]:
        return self._dicts(
            "SELECT r.* FROM revisions r JOIN snapshot_members m ON m.revision_id = r.id "
            "WHERE m.snapshot_id = ? ORDER BY r.id",
            [snapshot_id],
        )

    def stored_members(self, ref: str) -> list[tuple[str, SampleRevision]]:
        """(stored id, revision) for each member, exactly as frozen (content, not today's status)."""
        return [(row["id"], revision_from_row(row)) for row in self._member_rows(self.resolve(ref).id)]

    def members(self, ref: str) -> list[SampleRevision]:
        return [revision for _, revision in self.stored_members(ref)]

    def diff(self, a: str, b: str) -> SnapshotDiff:
        snap_a, snap_b = self.resolve(a), self.resolve(b)
        ids_a, ids_b = set(self.member_ids(snap_a.id)), set(self.member_ids(snap_b.id))
        return SnapshotDiff(
            a=snap_a.id,
            b=snap_b.id,
            only_in_a=sorted(ids_a - ids_b),
            only_in_b=sorted(ids_b - ids_a),
            in_both=len(ids_a & ids_b),
        )

    def verify(self, ref: str) -> list[str]:
        """Return the problems found (empty means the snapshot is intact)."""
        snapshot = self.resolve(ref)
        problems: list[str] = []
        ids = self.member_ids(snapshot.id)
        if len(ids) != snapshot.member_count:
            problems.append(f"member count is {len(ids)}, recorded {snapshot.member_count}")
        if snapshot_id_for(ids) != snapshot.id:
            problems.append("the member ids no longer hash to the snapshot id")
        present = {
            r[0]
            for r in self.store.con.execute(
                "SELECT id FROM revisions WHERE id IN (SELECT revision_id FROM snapshot_members WHERE snapshot_id = ?)",
                [snapshot.id],
            ).fetchall()
        }
        for missing in sorted(set(ids) - present):
            problems.append(f"member {missing} is missing from the store")
        problems.extend(p for row in self._member_rows(snapshot.id) if (p := content_problem(row, "member")))
        content_hash = _content_hash(
            self.store, "SELECT revision_id FROM snapshot_members WHERE snapshot_id = ?", [snapshot.id]
        )
        if content_hash != snapshot.content_hash:
            problems.append("members' stored content or metadata changed since the snapshot was taken")
        return problems

    def record_contamination_check(self, row: list[object]) -> None:
        """One ``contamination_checks`` row: what a check of a snapshot against eval cases found."""
        with self.store.transaction() as con:
            con.execute("INSERT INTO contamination_checks VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

    def latest_contamination_check(self, snapshot_id: str) -> tuple | None:
        """(id, eval files JSON, evals, leaks, params JSON, created at) of the snapshot's newest check."""
        return self.store.con.execute(
            "SELECT id, eval_files, evals, leaks, params, created_at FROM contamination_checks "
            "WHERE snapshot_id = ? ORDER BY created_at DESC LIMIT 1",
            [snapshot_id],
        ).fetchone()


__all__ = ["Snapshots"]

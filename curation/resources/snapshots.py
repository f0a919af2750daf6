"""``workspace.snapshots``: freeze, find, list, diff and verify immutable snapshots."""

from __future__ import annotations

from curation import snapshots as _snapshots
from curation.resources import Resource
from schemas.sample import SampleRevision
from schemas.snapshot import Snapshot, SnapshotDiff


class Snapshots(Resource):
    def resolve(self, ref: str) -> Snapshot:
        """By name, full id or unique id prefix."""
        return _snapshots.resolve_snapshot(self.store, ref)

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
        """Freeze what ``where`` selects (see :func:`curation.snapshots.create_snapshot` for the options)."""
        return _snapshots.create_snapshot(
            self.store,
            name,
            where,
            parent=parent,
            exist_ok=exist_ok,
            reuse_same_members=reuse_same_members,
            sample=sample,
            sample_seed=sample_seed,
        )

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

    def list(self) -> list[Snapshot]:
        return _snapshots.list_snapshots(self.store)

    def member_ids(self, ref: str) -> list[str]:
        return _snapshots.member_ids(self.store, self.resolve(ref).id)

    def members(self, ref: str) -> list[SampleRevision]:
        return _snapshots.members(self.store, self.resolve(ref).id)

    def diff(self, a: str, b: str) -> SnapshotDiff:
        return _snapshots.diff_snapshots(self.store, a, b)

    def verify(self, ref: str) -> list[str]:
        return _snapshots.verify_snapshot(self.store, ref)


__all__ = ["Snapshots"]

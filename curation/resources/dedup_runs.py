"""``workspace.dedup_runs``: run dedup (incrementally, through the persisted indexes) and read runs."""

from __future__ import annotations

from collections.abc import Sequence

from curation.dedup import report as _report
from curation.dedup.run import DedupConfig, DedupRun, Progress, run_dedup
from curation.resources import Resource


class DedupRuns(Resource):
    def run(
        self, config: DedupConfig | None = None, *, where: str | None = None, progress: Progress | None = None
    ) -> DedupRun:
        return run_dedup(self.store, where, config or DedupConfig(), progress=progress)

    def resolve(self, ref: str) -> str:
        """``latest``, a full run id or a unique prefix."""
        return _report.resolve_run(self.store, ref)

    def report(self, ref: str) -> _report.ReportData:
        return _report.load_report(self.store, ref)

    def exact_duplicates(self, ids: Sequence[str], config: DedupConfig | None = None) -> int:
        """How many of ``ids`` share their normalised text exactly with another revision."""
        key = (config or DedupConfig()).options_key
        return self.store.con.execute(
            "SELECT count(*) FROM dedup_fingerprints f WHERE f.revision_id IN (SELECT unnest(?::VARCHAR[])) "
            "AND f.options_key = ? AND EXISTS (SELECT 1 FROM dedup_fingerprints g WHERE g.exact_hash = f.exact_hash "
            "AND g.options_key = f.options_key AND g.revision_id <> f.revision_id)",
            [list(ids), key],
        ).fetchone()[0]


__all__ = ["DedupRuns"]

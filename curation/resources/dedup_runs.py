"""``workspace.dedup_runs``: run dedup (incrementally, through the persisted indexes) and read runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from curation.dedup.run import DedupConfig, DedupRun, Progress, run_dedup
from curation.resources import Resource


@dataclass(frozen=True)
class DedupRunSummary:
    """A dedup run as listed: what it compared and what it found."""

    id: str
    methods: list[str]
    where: str | None
    samples: int
    clusters: int
    duplicates: int
    created_at: datetime


class DedupRuns(Resource):
    def list(self) -> list[DedupRunSummary]:
        """Every run, oldest first."""
        rows = self.store.con.execute(
            "SELECT id, methods, where_clause, samples, clusters, duplicates, created_at FROM dedup_runs "
            "ORDER BY created_at"
        ).fetchall()
        return [DedupRunSummary(r[0], json.loads(r[1]), *r[2:]) for r in rows]

    def run(
        self, config: DedupConfig | None = None, *, where: str | None = None, progress: Progress | None = None
    ) -> DedupRun:
        return run_dedup(self.store, where, config or DedupConfig(), progress=progress)

    def paired_ids(self) -> set[str]:
        """Every revision in some recorded duplicate pair (any method, any run)."""
        rows = self.store.con.execute("SELECT a FROM dedup_pairs UNION SELECT b FROM dedup_pairs").fetchall()
        return {r[0] for r in rows}

    def exact_duplicates(self, ids: Sequence[str], config: DedupConfig | None = None) -> int:
        """How many of ``ids`` share their normalised text exactly with another revision."""
        key = (config or DedupConfig()).options_key
        return self.store.con.execute(
            "SELECT count(*) FROM dedup_fingerprints f WHERE f.revision_id IN (SELECT unnest(?::VARCHAR[])) "
            "AND f.options_key = ? AND EXISTS (SELECT 1 FROM dedup_fingerprints g WHERE g.exact_hash = f.exact_hash "
            "AND g.options_key = f.options_key AND g.revision_id <> f.revision_id)",
            [list(ids), key],
        ).fetchone()[0]


__all__ = ["DedupRunSummary", "DedupRuns"]

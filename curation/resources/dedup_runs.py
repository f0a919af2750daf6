"""``workspace.dedup_runs``: the dedup tables, read and written.

The run step (``curation/dedup/run.py``, ``run_dedup``) and the report read and write exact fingerprints,
every pair ever found, runs and their cluster members through this resource, so their SQL lives here and
nowhere else."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from curation.errors import NotFound
from curation.resources import Resource
from curation.resources.ids import resolve_prefix


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

    def paired_ids(self) -> set[str]:
        """Every revision in some recorded duplicate pair (any method, any run)."""
        rows = self.store.con.execute("SELECT a FROM dedup_pairs UNION SELECT b FROM dedup_pairs").fetchall()
        return {r[0] for r in rows}

    # -- the tables behind a run (curation/dedup/run.py) ---------------------------------------------------

    def fingerprinted(self, options_key: str) -> set[str]:
        """The revisions whose exact fingerprint under ``options_key`` is stored."""
        rows = self.store.con.execute(
            "SELECT revision_id FROM dedup_fingerprints WHERE options_key = ?", [options_key]
        ).fetchall()
        return {r[0] for r in rows}

    def add_fingerprints(self, rows: Sequence[Sequence[str]]) -> None:
        """(revision id, options key, exact hash) rows; one already stored is kept."""
        with self.store.transaction():
            self.store.insert_rows(
                "dedup_fingerprints", ("revision_id", "options_key", "exact_hash"), rows, on_conflict="OR IGNORE"
            )

    def exact_twins(self, options_key: str) -> list[tuple[str, str]]:
        """(revision, the first revision with its fingerprint) for every revision that has an earlier twin."""
        return self.store.con.execute(
            """
            SELECT f.revision_id, g.first_id FROM dedup_fingerprints f
            JOIN (SELECT exact_hash, min(revision_id) AS first_id, count(*) AS n
                  FROM dedup_fingerprints WHERE options_key = ? GROUP BY exact_hash HAVING count(*) > 1) g
              ON g.exact_hash = f.exact_hash
            WHERE f.options_key = ? AND f.revision_id <> g.first_id
            """,
            [options_key, options_key],
        ).fetchall()

    def pair_count(self, method: str, params_key: str) -> int:
        return self.store.con.execute(
            "SELECT count(*) FROM dedup_pairs WHERE method = ? AND params_key = ?", [method, params_key]
        ).fetchone()[0]

    def add_pairs(self, rows: Sequence[Sequence[object]]) -> None:
        """(a, b, method, params key, similarity, run id) rows; a pair already stored is kept as it was."""
        with self.store.transaction():
            self.store.insert_rows(
                "dedup_pairs",
                ("a", "b", "method", "params_key", "similarity", "found_in_run"),
                rows,
                on_conflict="OR IGNORE",
            )

    def pairs(self, keys: Sequence[tuple[str, str]]) -> list[tuple[str, str, str, float]]:
        """(a, b, method, similarity) of every stored pair found by one of the (method, params key) ``keys``."""
        return self.store.con.execute(
            "SELECT a, b, method, similarity FROM dedup_pairs WHERE (method, params_key) IN "
            "(SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]))",
            [[m for m, _ in keys], [k for _, k in keys]],
        ).fetchall()

    def record(self, run_row: Sequence[object], members: Sequence[Sequence[object]]) -> None:
        """A run (one ``dedup_runs`` row) and its cluster members, in one transaction."""
        with self.store.transaction() as con:
            con.execute("INSERT INTO dedup_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(run_row))
            self.store.insert_rows(
                "dedup_members",
                ("run_id", "cluster_id", "revision_id", "representative_id", "similarity", "methods"),
                members,
            )

    # -- what the report reads (curation/dedup/report.py) ----------------------------------------------------

    def resolve(self, ref: str) -> str:
        """A run id from ``latest``, an id or a unique prefix."""
        if ref == "latest":
            row = self.store.con.execute("SELECT id FROM dedup_runs ORDER BY created_at DESC LIMIT 1").fetchone()
            if not row:
                raise NotFound("no dedup run yet; run `triforge dedup run` first")
            return row[0]
        return resolve_prefix(self.store, "dedup_runs", ref, noun="dedup run", hint="; run `triforge dedup run` first")

    def get(self, run_id: str) -> dict[str, Any]:
        """The run's row, its JSON columns (methods, params, stats) decoded."""
        cur = self.store.con.execute("SELECT * FROM dedup_runs WHERE id = ?", [run_id])
        run = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
        for key in ("methods", "params", "stats"):
            run[key] = json.loads(run[key])
        return run

    def members(self, run_id: str) -> list[tuple]:
        """(cluster, revision, representative, similarity, methods JSON, status, source, kind, category) of
        each member of the run's clusters, each cluster's representative first."""
        return self.store.con.execute(
            """
            SELECT m.cluster_id, m.revision_id, m.representative_id, m.similarity, m.methods, s.status,
                   s.source_type || ':' || s.source_name, s.kind, s.category
            FROM dedup_members m JOIN samples s ON s.id = m.revision_id
            WHERE m.run_id = ? ORDER BY m.cluster_id, m.revision_id <> m.representative_id, m.similarity DESC
            """,
            [run_id],
        ).fetchall()

    def similarities_among(self, ids: Sequence[str], methods: Sequence[str]) -> list[tuple[str, float]]:
        """(method, similarity) of every stored pair of ``methods`` with both sides in ``ids``."""
        return self.store.con.execute(
            "SELECT method, similarity FROM dedup_pairs WHERE a IN (SELECT unnest(?::VARCHAR[])) "
            "AND b IN (SELECT unnest(?::VARCHAR[])) AND method IN (SELECT unnest(?::VARCHAR[]))",
            [list(ids), list(ids), list(methods)],
        ).fetchall()

    def exact_duplicates(self, ids: Sequence[str], options_key: str) -> int:
        """How many of ``ids`` share their text, normalised under ``options_key``, exactly with another revision."""
        return self.store.con.execute(
            "SELECT count(*) FROM dedup_fingerprints f WHERE f.revision_id IN (SELECT unnest(?::VARCHAR[])) "
            "AND f.options_key = ? AND EXISTS (SELECT 1 FROM dedup_fingerprints g WHERE g.exact_hash = f.exact_hash "
            "AND g.options_key = f.options_key AND g.revision_id <> f.revision_id)",
            [list(ids), options_key],
        ).fetchone()[0]


__all__ = ["DedupRunSummary", "DedupRuns"]

"""``workspace.training_runs``: the record of every adapter trained, and what it learned from.

``triforge train`` writes one row per finished run (the adapter and its manifest exist first, so a busy
store never costs a trained adapter); ``lineage`` walks adapter -> run -> snapshot -> member revisions ->
their sources and the reviewers whose decisions put them there. The gate's read of a snapshot's
validation states lives here too: it is the question "may a model learn from this?".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curation.errors import Conflict, Invalid, NotFound
from curation.resources import Resource
from curation.resources.ids import MIN_PREFIX

if TYPE_CHECKING:
    from schemas.training import TrainingManifest

REVIEW_STATUSES = ("approved", "rejected", "in_review")


@dataclass(frozen=True)
class TrainingRun:
    id: str
    snapshot_id: str
    snapshot_content_hash: str
    base_model: str
    base_model_sha256: str
    adapter_path: str
    metrics: dict[str, Any]
    forced: bool
    finished_at: datetime


@dataclass(frozen=True)
class LineageSnapshot:
    id: str
    name: str | None
    where: str | None
    members: int | None
    content_hash_matches: bool  # the snapshot row still hashes to what was trained on (else: tampering)


@dataclass(frozen=True)
class SourceCount:
    source_type: str
    source_name: str
    samples: int


@dataclass(frozen=True)
class ReviewerCount:
    reviewer: str
    decision: str
    samples: int


@dataclass(frozen=True)
class RunEval:
    id: str
    suite_file: str
    overall: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Lineage:
    """What an adapter learned from and who vouched for it; ``as_dict`` is ``triforge lineage --json``."""

    training_run: TrainingRun
    snapshot: LineageSnapshot
    sources: list[SourceCount]
    reviewers: list[ReviewerCount]
    evals: list[RunEval]

    def as_dict(self) -> dict[str, Any]:
        run = asdict(self.training_run)
        run = {k: run[k] for k in ("id", "adapter_path", "base_model", "base_model_sha256", "forced")} | {
            "finished_at": str(self.training_run.finished_at)[:19],
            "metrics": self.training_run.metrics,
        }
        return {
            "training_run": run,
            "snapshot": asdict(self.snapshot),
            "sources": [asdict(s) for s in self.sources],
            "reviewers": [asdict(r) for r in self.reviewers],
            "evals": [asdict(e) | {"created_at": str(e.created_at)[:19]} for e in self.evals],
        }


_SELECT = (
    "SELECT id, snapshot_id, snapshot_content_hash, base_model, base_model_sha256, adapter_path, metrics, forced, "
    "finished_at FROM training_runs"
)


def _run(row: tuple[Any, ...]) -> TrainingRun:
    return TrainingRun(*row[:6], json.loads(row[6]), row[7], row[8])


class TrainingRuns(Resource):
    def record(self, manifest: TrainingManifest, adapter_dir: Path) -> None:
        """Record a finished run (idempotent: the same run id replaces its row)."""
        with self.store.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO training_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    manifest.run_id,
                    manifest.snapshot_id,
                    manifest.snapshot_content_hash,
                    manifest.base_model,
                    manifest.base_model_sha256,
                    str(Path(adapter_dir).resolve()),
                    manifest.config.model_dump_json(),
                    json.dumps(manifest.metrics),
                    manifest.forced,
                    manifest.started_at,
                    manifest.finished_at,
                ],
            )

    def count(self) -> int:
        return self.store.con.execute("SELECT count(*) FROM training_runs").fetchone()[0]

    def list(self) -> list[TrainingRun]:
        """Every recorded run, oldest first."""
        rows = self.store.con.execute(f"{_SELECT} ORDER BY finished_at, id").fetchall()
        return [_run(row) for row in rows]

    def resolve(self, ref: str) -> str:
        """An adapter directory (its manifest names the run) or a training run id / unique prefix."""
        path = Path(ref).expanduser()
        if path.is_dir():
            manifest = path / "manifest.json"
            if not manifest.is_file():
                raise Invalid(f"{path} has no manifest.json: it was not written by triforge train")
            return json.loads(manifest.read_text(encoding="utf-8"))["run_id"]
        if len(ref.strip()) < MIN_PREFIX:
            raise Invalid(f"{ref!r} is no adapter directory; give at least {MIN_PREFIX} characters of a run id")
        rows = self.store.con.execute(
            "SELECT id FROM training_runs WHERE starts_with(id, ?) ORDER BY id LIMIT 2", [ref.strip()]
        ).fetchall()
        if not rows:
            raise NotFound(f"{ref!r} is no adapter directory and matches no training run")
        if len(rows) > 1:
            raise Conflict(f"{ref!r} is no adapter directory and matches several training runs")
        return rows[0][0]

    def get(self, run_id: str) -> TrainingRun:
        row = self.store.con.execute(f"{_SELECT} WHERE id = ?", [run_id]).fetchone()
        if row is None:
            raise NotFound(
                f"training run {run_id} is not in this store (was the adapter trained against another home?)"
            )
        return _run(row)

    def lineage(self, ref: str) -> Lineage:
        run = self.get(self.resolve(ref))
        con = self.store.con
        snap = con.execute(
            "SELECT name, where_clause, member_count, content_hash FROM snapshots WHERE id = ?", [run.snapshot_id]
        ).fetchone() or (None, None, None, None)
        sources = con.execute(
            "SELECT r.source_type, r.source_name, count(*) FROM snapshot_members m "
            "JOIN revisions r ON r.id = m.revision_id WHERE m.snapshot_id = ? GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
            [run.snapshot_id],
        ).fetchall()
        reviewers = con.execute(
            "SELECT e.actor, e.status, count(DISTINCT e.revision_id) FROM snapshot_members m "
            "JOIN status_events e ON e.revision_id = m.revision_id "
            "WHERE m.snapshot_id = ? AND e.status IN (SELECT unnest(?)) GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
            [run.snapshot_id, list(REVIEW_STATUSES)],
        ).fetchall()
        evals = con.execute(
            "SELECT id, suite_file, summary, created_at FROM eval_runs WHERE training_run_id = ? ORDER BY created_at",
            [run.id],
        ).fetchall()
        return Lineage(
            training_run=run,
            snapshot=LineageSnapshot(run.snapshot_id, snap[0], snap[1], snap[2], snap[3] == run.snapshot_content_hash),
            sources=[SourceCount(*s) for s in sources],
            reviewers=[ReviewerCount(*r) for r in reviewers],
            evals=[RunEval(e[0], e[1], json.loads(e[2])["ALL"], e[3]) for e in evals],
        )

    def member_validation(self, snapshot_id: str) -> dict[str, int]:
        """How many of a snapshot's members passed, failed or never ran validation (the training gate's read)."""
        return dict(
            self.store.con.execute(
                "SELECT s.validation, count(*) FROM snapshot_members m JOIN samples s ON s.id = m.revision_id "
                "WHERE m.snapshot_id = ? GROUP BY 1",
                [snapshot_id],
            ).fetchall()
        )


__all__ = ["Lineage", "TrainingRun", "TrainingRuns"]

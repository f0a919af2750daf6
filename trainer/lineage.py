"""``triforge lineage ADAPTER``: what an adapter learned from, and who vouched for it.

The chain is adapter -> training run -> snapshot -> member revisions -> their sources (generator,
teacher model, contributor, imported file) and the people whose review decisions put them there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curation.store import Store, StoreError
from trainer.generation import read_manifest

REVIEW_STATUSES = ("approved", "rejected", "in_review")


def resolve_training_run(store: Store, ref: str) -> str:
    """An adapter directory (its manifest names the run) or a training run id / unique prefix."""
    path = Path(ref).expanduser()
    if path.is_dir():
        manifest = read_manifest(path)
        if manifest is None:
            raise StoreError(f"{path} has no manifest.json: it was not written by triforge train")
        return manifest["run_id"]
    rows = store.con.execute("SELECT id FROM training_runs WHERE id LIKE ? || '%'", [ref]).fetchall()
    if len(rows) != 1:
        raise StoreError(f"{ref!r} is no adapter directory and matches {len(rows)} training runs")
    return rows[0][0]


def lineage(store: Store, ref: str) -> dict[str, Any]:
    run_id = resolve_training_run(store, ref)
    run = store.con.execute(
        "SELECT t.id, t.snapshot_id, t.snapshot_content_hash, t.base_model, t.base_model_sha256, t.adapter_path, "
        "t.metrics, t.forced, t.finished_at, s.name, s.where_clause, s.member_count, s.content_hash "
        "FROM training_runs t LEFT JOIN snapshots s ON s.id = t.snapshot_id WHERE t.id = ?",
        [run_id],
    ).fetchone()
    if run is None:
        raise StoreError(f"training run {run_id} is not in this store (was the adapter trained against another home?)")
    snapshot_id = run[1]
    sources = store.con.execute(
        "SELECT r.source_type, r.source_name, count(*) FROM snapshot_members m "
        "JOIN revisions r ON r.id = m.revision_id WHERE m.snapshot_id = ? GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
        [snapshot_id],
    ).fetchall()
    reviewers = store.con.execute(
        "SELECT e.actor, e.status, count(DISTINCT e.revision_id) FROM snapshot_members m "
        "JOIN status_events e ON e.revision_id = m.revision_id "
        "WHERE m.snapshot_id = ? AND e.status IN (SELECT unnest(?)) GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
        [snapshot_id, list(REVIEW_STATUSES)],
    ).fetchall()
    evals = store.con.execute(
        "SELECT id, suite_file, summary, created_at FROM eval_runs WHERE training_run_id = ? ORDER BY created_at",
        [run_id],
    ).fetchall()
    return {
        "training_run": {
            "id": run[0],
            "adapter_path": run[5],
            "base_model": run[3],
            "base_model_sha256": run[4],
            "forced": run[7],
            "finished_at": str(run[8])[:19],
            "metrics": json.loads(run[6]),
        },
        "snapshot": {
            "id": snapshot_id,
            "name": run[9],
            "where": run[10],
            "members": run[11],
            # The snapshot row's hash must still be the one trained on; a mismatch means tampering.
            "content_hash_matches": run[12] == run[2],
        },
        "sources": [{"source_type": t, "source_name": n, "samples": c} for t, n, c in sources],
        "reviewers": [{"reviewer": a, "decision": s, "samples": c} for a, s, c in reviewers],
        "evals": [
            {"id": e[0], "suite_file": e[1], "overall": json.loads(e[2])["ALL"], "created_at": str(e[3])[:19]}
            for e in evals
        ],
    }

"""Predictions in their own table, beside the labels: written by ``triforge classify``, read by push.

``classifier_predictions`` holds the latest prediction per sample and task (label, probability, the
model that made it, when). ``revisions.kind``/``category`` and reviewers' tags are never touched, so
a prediction can only ever be a suggestion. ``--where "predicted.category = mode_mismatch and
predicted.category_score >= 0.8"`` filters on them (see ``curation/filters.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from curation.clock import utc_now
from curation.store import Store

COLUMNS = ("revision_id", "task", "label", "score", "model_id", "created_at")


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    model_id: str


def store_predictions(store: Store, task: str, model_id: str, rows: Sequence[tuple[str, str, float]]) -> None:
    """Replace ``task``'s predictions for these revisions with ``(revision_id, label, score)`` rows."""
    stamp = utc_now()
    with store.transaction():
        store.insert_rows(
            "classifier_predictions",
            COLUMNS,
            [[rid, task, label, float(score), model_id, stamp] for rid, label, score in rows],
            on_conflict="OR REPLACE",
        )


def predictions_for(store: Store, ids: Sequence[str]) -> dict[str, dict[str, Prediction]]:
    """``{revision_id: {task: Prediction}}`` for the ids that have any."""
    rows = store.con.execute(
        "SELECT revision_id, task, label, score, model_id FROM classifier_predictions "
        "WHERE revision_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(ids)],
    ).fetchall()
    found: dict[str, dict[str, Prediction]] = {}
    for rid, task, label, score, model_id in rows:
        found.setdefault(rid, {})[task] = Prediction(label, float(score), model_id)
    return found

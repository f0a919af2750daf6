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
from curation.workspace import Workspace


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    model_id: str


def store_predictions(workspace: Workspace, task: str, model_id: str, rows: Sequence[tuple[str, str, float]]) -> None:
    """Replace ``task``'s predictions for these revisions with ``(revision_id, label, score)`` rows."""
    stamp = utc_now()
    workspace.classifier.add_predictions(
        [[rid, task, label, float(score), model_id, stamp] for rid, label, score in rows]
    )


def predictions_for(workspace: Workspace, ids: Sequence[str]) -> dict[str, dict[str, Prediction]]:
    """``{revision_id: {task: Prediction}}`` for the ids that have any."""
    rows = workspace.classifier.predictions(ids)
    found: dict[str, dict[str, Prediction]] = {}
    for rid, task, label, score, model_id in rows:
        found.setdefault(rid, {})[task] = Prediction(label, float(score), model_id)
    return found

"""``triforge classify``: train on the store's labelled samples, predict for the chosen ones, store it.

Training always uses every labelled sample (the filter only chooses what gets a prediction), so the
model is the same whichever samples are classified. Each chosen sample gets one prediction per task
that applies to it - also where a label was given, so a confident disagreement points a curator at a
label worth a second look - and the given label itself is never changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curation.classify.features import model_key, revision_vectors
from curation.classify.predictions import store_predictions
from curation.classify.tasks import TASKS, SampleLabels, load_labels
from curation.classify.training import TrainedModel, train_task
from curation.dedup.embeddings import default_model_path
from curation.workspace import Workspace

Progress = Callable[[str], None]


@dataclass
class TaskSummary:
    task: str
    model_id: str | None = None
    model_reused: bool = False
    trained_on: int = 0
    label_counts: dict[str, int] = field(default_factory=dict)
    predicted: int = 0
    without_label: int = 0  # predicted where no file or person gave a label: the suggestions that matter
    agree: int = 0
    disagree: list[dict[str, Any]] = field(default_factory=list)  # given label != prediction, surest first
    predicted_counts: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None


@dataclass
class ClassifyReport:
    samples: int
    tasks: list[TaskSummary]

    def as_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "tasks": [t.__dict__ for t in self.tasks]}


class VectorCache:
    """Prompt vectors held for the run, so tasks that share samples fetch or embed each once."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.known: dict[str, np.ndarray] = {}

    def __call__(self, ids: Sequence[str]) -> np.ndarray:
        missing = [rid for rid in dict.fromkeys(ids) if rid not in self.known]
        if missing:
            self.known.update(zip(missing, revision_vectors(self.workspace, missing), strict=True))
        return np.stack([self.known[rid] for rid in ids]) if ids else np.zeros((0, 0), np.float32)


def train_models(
    workspace: Workspace,
    tasks: Sequence[str],
    samples: Sequence[SampleLabels] | None = None,
    vectors: VectorCache | None = None,
) -> dict[str, TrainedModel | str]:
    """Each task's model (trained now or reused), or the reason it has none."""

    samples = load_labels(workspace) if samples is None else samples
    vectors = vectors or VectorCache(workspace)
    embedding_model = model_key(default_model_path())
    return {task: train_task(workspace, task, samples, vectors, embedding_model) for task in tasks}


def classify(
    workspace: Workspace,
    where: str | None = None,
    tasks: Sequence[str] = tuple(TASKS),
    progress: Progress | None = None,
) -> ClassifyReport:
    """Train (or reuse) each task's model and store its predictions for the samples matching ``where``."""
    say = progress or (lambda _text: None)
    everything = load_labels(workspace)
    chosen = load_labels(workspace, where) if where else everything
    vectors = VectorCache(workspace)
    say("embedding and training")
    models = train_models(workspace, tasks, everything, vectors)
    report = ClassifyReport(samples=len(chosen), tasks=[])
    for task in tasks:
        model = models[task]
        summary = TaskSummary(task)
        report.tasks.append(summary)
        if isinstance(model, str):
            summary.skipped = model
            continue
        summary.model_id, summary.model_reused = model.id, model.reused
        summary.trained_on, summary.label_counts = model.trained_on, model.label_counts
        targets = [s for s in chosen if s.applies(task)]
        say(f"predicting {task} for {len(targets)} samples")
        predicted = model.head.predict(vectors([s.id for s in targets]))
        rows = [(s.id, label, p) for s, (label, p) in zip(targets, predicted, strict=True)]
        store_predictions(workspace, task, model.id, rows)
        _summarise(summary, targets, predicted)
    return report


def _summarise(summary: TaskSummary, targets: Sequence[SampleLabels], predicted: list[tuple[str, float]]) -> None:
    summary.predicted = len(targets)
    for sample, (label, score) in zip(targets, predicted, strict=True):
        summary.predicted_counts[label] = summary.predicted_counts.get(label, 0) + 1
        given = sample.given(summary.task)
        if given is None:
            summary.without_label += 1
        elif given == label:
            summary.agree += 1
        else:
            summary.disagree.append({"id": sample.id, "given": given, "predicted": label, "score": round(score, 4)})
    summary.disagree.sort(key=lambda d: -d["score"])
    summary.predicted_counts = dict(sorted(summary.predicted_counts.items(), key=lambda kv: (-kv[1], kv[0])))

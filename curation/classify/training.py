"""Train one head per task on every labelled sample in the store, and keep it in ``classifier_models``.

A model's id hashes what determines it (classifier version, task, view, embedding model, head
parameters and the sorted ``(revision id, label)`` pairs), so retraining after a review pull that
changed no label reuses the stored model, and a pull that added labels makes a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from curation.classify.model import CLASSIFIER, DEFAULT_PARAMS, HeadParams, LinearHead
from curation.classify.tasks import PROMPT, SampleLabels
from curation.clock import utc_now
from curation.workspace import Workspace

Vectors = Callable[[Sequence[str]], np.ndarray]  # revision ids -> one prompt vector per id


@dataclass
class TrainedModel:
    id: str
    task: str
    head: LinearHead
    trained_on: int
    label_counts: dict[str, int]
    reused: bool  # an identical model was already stored


def training_set(task: str, samples: Sequence[SampleLabels]) -> list[tuple[str, str]]:
    """``(revision_id, label)`` for every sample the task learns from."""
    return [(s.id, label) for s in samples if s.applies(task) and (label := s.training_label(task))]


def model_id(task: str, embedding_model: str, pairs: Sequence[tuple[str, str]], params: HeadParams) -> str:
    identity = {
        "classifier": CLASSIFIER,
        "task": task,
        "view": PROMPT,
        "embedding_model": embedding_model,
        "params": params.as_dict(),
        "pairs": sorted(pairs),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def load_model(workspace: Workspace, mid: str) -> LinearHead | None:
    row = workspace.classifier.model(mid)
    if row is None:
        return None
    labels, weights, params = (json.loads(v) for v in row)
    return LinearHead.from_json(labels, weights, params)


def train_task(
    workspace: Workspace,
    task: str,
    samples: Sequence[SampleLabels],
    vectors: Vectors,
    embedding_model: str,
    params: HeadParams = DEFAULT_PARAMS,
) -> TrainedModel | str:
    """The task's model (stored if new), or why there is none (too few labels or classes)."""
    pairs = training_set(task, samples)
    counts = Counter(label for _, label in pairs)
    if len(counts) < 2:
        return f"needs labelled samples of at least two classes (has {dict(counts) or 'none'})"
    mid = model_id(task, embedding_model, pairs, params)
    head = load_model(workspace, mid)
    if head is not None:
        return TrainedModel(mid, task, head, len(pairs), dict(counts), reused=True)
    head = LinearHead.fit(vectors([rid for rid, _ in pairs]), [lab for _, lab in pairs], params)
    workspace.classifier.add_model(
        [
                mid, task, CLASSIFIER, embedding_model, PROMPT, json.dumps(head.labels),
                json.dumps(head.weights_json()), len(pairs), json.dumps(dict(sorted(counts.items()))),
                json.dumps(params.as_dict()), utc_now(),
        ]
    )  # fmt: skip
    return TrainedModel(mid, task, head, len(pairs), dict(counts), reused=False)

"""``triforge review push``: samples out to Argilla, each exactly once, the most useful first.

The Argilla record id is the revision id, and each batch is recorded in ``argilla_records`` only after
Argilla accepted it, so a crash mid-push resends at most one batch - which Argilla upserts by id,
never duplicates. Each kind's records go out in the order ``order`` chooses (``labeling.argilla.order``:
by default failing samples with a proposed repair, then large near-duplicate clusters'
representatives, then under-represented categories) and carry their rank as ``review_priority``.

A record carries its kind's form fields (``forms``: e.g. a quest's design and implementation, a
debugging question's code and symptom, and the answer), the validator report in words (``report``),
metadata to filter by, suggestions (decision from the validators, category from the proposer - or, for
a sample nobody gave a category, from ``triforge classify`` with its probability -, the corrected
answer when ``triforge propose repairs`` made a repair of the sample, and the form's answers the
validators already know, e.g. ``hook_ok = no`` for a quest that names no hook point) and, when
embedding support is installed, the sample's embedding for similarity search. The classifier's
predicted kind, category and intent and their probabilities are metadata, so reviewers can filter and
sort by them. Every read and write of the store goes through ``workspace.reviews``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from curation.classify.model import CLASSIFIER
from curation.classify.predictions import Prediction, predictions_for
from curation.errors import Invalid
from curation.repairs.lookup import latest_repairs
from curation.resources.reviews import Candidate
from curation.workspace import Workspace
from labeling.argilla.datasets import (
    VECTOR_FIELD,
    category_labels,
    dataset_vector_dim,
    ensure_dataset,
    known_categories,
)
from labeling.argilla.forms import decision_suggestion, form_for, record_fields, validator_suggestions
from labeling.argilla.order import DEFAULT_ORDER, OrderFacts, check_order, ordered
from labeling.argilla.report import render
from labeling.argilla.vectors import Embeddings, embeddings_for

# argilla-server refuses a bulk of more than 500 records; at its maximum the search engine's refresh
# after each bulk (which grows with the index) is paid once per 500 records, not once per 100.
MAX_BATCH = 500
DEFAULT_PUSH_FILTER = "validation = passed and duplicate_of is null and status in (proposed, in_review)"
# The row a record is built from, for callers holding a plain query result (Candidate is the typed form).
COLUMNS = "id, kind, category, messages, source_type, source_name, validation_score"


@dataclass
class PushSummary:
    sent: int = 0
    already_sent: int = 0
    datasets: dict[str, int] = field(default_factory=dict)
    vectors: int = 0
    vectors_note: str | None = None
    repair_suggestions: int = 0  # records whose corrected answer was pre-filled with a proposed repair
    predicted_categories: int = 0  # records whose missing category was suggested by the classifier
    order: str = DEFAULT_ORDER
    first: dict[str, str] = field(default_factory=dict)  # dataset -> the revision id a reviewer sees first


def suggestion_agent(source_name: str) -> str:
    """Argilla's agent names allow letters, digits and ``-_:./``: ``repair@1`` -> ``triforge-repair-v1``."""
    return "triforge-" + source_name.replace("@", "-v")


def prediction_metadata(predicted: dict[str, Prediction]) -> dict[str, Any]:
    """``predicted_<task>`` and ``predicted_<task>_score`` for each task the classifier predicted."""
    found: dict[str, Any] = {}
    for task, prediction in sorted(predicted.items()):
        found[f"predicted_{task}"] = prediction.label
        found[f"predicted_{task}_score"] = round(prediction.score, 6)
    return found


def _candidate(row: Candidate | tuple) -> Candidate:
    if isinstance(row, Candidate):
        return row
    rid, kind, category, messages, source_type, source_name, score = row
    return Candidate(rid, kind, category, json.loads(messages), source_type, source_name, score, None)


def _record(
    row: Candidate | tuple,
    labels: set[str],
    failed: list[str],
    cluster: int,
    vector: list[float] | None,
    repair: tuple[str, str, str] | None = None,
    predicted: dict[str, Prediction] | None = None,
    results: list[dict[str, Any]] | None = None,
    priority: int | None = None,
) -> Any:
    """One Argilla record; ``row`` is a Candidate, or a tuple of ``COLUMNS``."""
    import argilla as rg

    c = _candidate(row)
    predicted = predicted or {}
    turns = c.messages
    last = max((i for i, m in enumerate(turns) if m["role"] == "assistant"), default=len(turns))
    answer = turns[last]["content"] if last < len(turns) else ""
    report = render(results or [], [m["role"] for m in turns], failed)
    form = form_for(c.kind)
    score = float(c.validation_score or 0)
    decision = decision_suggestion(c.kind, results or [], score)
    suggestions = []
    if decision is not None:
        suggestions.append(rg.Suggestion("decision", decision[0], score=decision[1], agent="triforge-validators"))
    if c.category in labels:  # a category the dataset's question lacks stays visible in the metadata
        suggestions.append(rg.Suggestion("category", c.category, agent=c.source_type))
    elif c.category is None and predicted.get("category") and predicted["category"].label in labels:
        # Only where no file or person gave one: a prediction never stands in for a given label.
        guess = predicted["category"]
        suggestions.append(
            rg.Suggestion("category", guess.label, score=round(guess.score, 6), agent=suggestion_agent(CLASSIFIER))
        )
    if repair is not None:  # accepting it as the correction makes the same revision as the repair
        _, repairer, repaired = repair
        suggestions.append(rg.Suggestion("corrected_answer", repaired, agent=suggestion_agent(repairer)))
    for question, value in validator_suggestions(c.kind, results or []).items():
        if question in form.question_names:
            suggestions.append(rg.Suggestion(question, value, agent="triforge-validators"))
    return rg.Record(
        id=c.id,
        fields=record_fields(c.kind, turns[:last], answer, report),
        metadata={
            "source_type": c.source_type,
            "source_name": c.source_name,
            "validation_score": score,
            "duplicate_cluster_size": cluster,
            **({"sample_category": c.category} if c.category else {}),
            **({"review_priority": priority} if priority is not None else {}),
            **prediction_metadata(predicted),
        },
        vectors={VECTOR_FIELD: vector} if vector is not None else {},
        suggestions=suggestions,
    )


def push(
    ws: Workspace,
    client: Any,
    *,
    where: str | None = None,
    order: str = DEFAULT_ORDER,
    batch_size: int = MAX_BATCH,
    min_submitted: int = 1,
    vectors: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> PushSummary:
    """Send the samples matching ``where`` that were not sent before, best-first by ``order``."""
    check_order(order)
    if not 1 <= batch_size <= MAX_BATCH:
        raise Invalid(f"batch size {batch_size}: argilla-server takes 1 to {MAX_BATCH} records per bulk")
    reviews = ws.reviews
    rows = reviews.candidates(where or DEFAULT_PUSH_FILTER)
    sent_before = reviews.sent_ids()
    todo = [r for r in rows if r.id not in sent_before]
    summary = PushSummary(already_sent=len(rows) - len(todo), order=order)
    if not todo:
        return summary
    ids = [r.id for r in todo]
    categories = known_categories(ws)
    failed, clusters, repairs = reviews.failed_checks(ids), reviews.cluster_sizes(ids), latest_repairs(ws, ids)
    predicted, results = predictions_for(ws, ids), reviews.latest_results(ids)
    facts = OrderFacts(repairs=repairs, clusters=clusters, category_counts=reviews.category_counts())
    embeddings = embeddings_for(ws, ids) if vectors else Embeddings(unavailable="--no-vectors")
    summary.vectors_note = embeddings.unavailable
    for kind in sorted({r.kind for r in todo}):
        dataset = ensure_dataset(client, kind, categories, min_submitted, embeddings.dimension)
        name = dataset.name  # triforge-<kind>, or its -vN where an older form holds that name
        # A dataset made with another model's dimension takes no vectors rather than failing the push.
        usable = embeddings.vectors if dataset_vector_dim(dataset) == embeddings.dimension else {}
        labels = category_labels(dataset)
        mine = ordered([r for r in todo if r.kind == kind], facts, order)
        summary.first[name] = mine[0].id
        for start in range(0, len(mine), batch_size):
            batch = mine[start : start + batch_size]
            records = [
                _record(
                    r, labels, failed.get(r.id, []), clusters.get(r.id, 1), usable.get(r.id), repairs.get(r.id),
                    predicted.get(r.id), results.get(r.id), priority=start + i + 1,
                )
                for i, r in enumerate(batch)
            ]  # fmt: skip
            dataset.records.log(records, batch_size=batch_size)
            reviews.record_sent([r.id for r in batch], name)
            summary.sent += len(batch)
            summary.vectors += sum(r.id in usable for r in batch)
            summary.repair_suggestions += sum(r.id in repairs for r in batch)
            summary.predicted_categories += sum(
                any(x.question_name == "category" and x.agent == suggestion_agent(CLASSIFIER) for x in rec.suggestions)
                for rec in records
            )
            summary.datasets[name] = summary.datasets.get(name, 0) + len(batch)
            if progress:
                progress(summary.sent, len(todo))
    return summary

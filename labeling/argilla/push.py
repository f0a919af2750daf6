"""``triforge review push``: validated, non-duplicate samples out to Argilla, each exactly once.

The Argilla record id is the revision id, and each batch is recorded in ``argilla_records`` only after
Argilla accepted it, so a crash mid-push resends at most one batch - which Argilla upserts by id,
never duplicates. A record carries its kind's form fields (``forms``: e.g. a quest's design and
implementation, a debugging question's code and symptom, and the answer), the validator report in
words (``report``), metadata to filter by, suggestions (decision from the validators, category from the
proposer - or, for a sample nobody gave a category, from ``triforge classify`` with its probability -,
the corrected answer when ``triforge propose repairs`` made a repair of the sample, and the form's
answers the validators already know, e.g. ``hook_ok = no`` for a quest that names no hook point) and,
when embedding support is installed, the sample's embedding for similarity search. The classifier's
predicted kind, category and intent and their probabilities are metadata, so reviewers can filter and
sort by them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from curation.classify.model import CLASSIFIER
from curation.classify.predictions import Prediction, predictions_for
from curation.filters import compile_filter
from curation.repairs.lookup import latest_repairs
from curation.samples import set_status
from curation.store import Store
from labeling.argilla.datasets import (
    VECTOR_FIELD,
    category_labels,
    dataset_vector_dim,
    ensure_dataset,
    known_categories,
)
from labeling.argilla.forms import form_for, record_fields, validator_suggestions
from labeling.argilla.report import latest_results, render
from labeling.argilla.vectors import Embeddings, embeddings_for

DEFAULT_PUSH_FILTER = "validation = passed and duplicate_of is null and status in (proposed, in_review)"
COLUMNS = "id, kind, category, messages, source_type, source_name, validation_score"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class PushSummary:
    sent: int = 0
    already_sent: int = 0
    datasets: dict[str, int] = field(default_factory=dict)
    vectors: int = 0
    vectors_note: str | None = None
    repair_suggestions: int = 0  # records whose corrected answer was pre-filled with a proposed repair
    predicted_categories: int = 0  # records whose missing category was suggested by the classifier


def prompt_and_answer(messages: list[dict[str, str]]) -> tuple[str, str]:
    """The turns before the last assistant answer (as markdown), and that answer."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))
    prompt = "\n\n".join(f"**{m['role']}:** {m['content']}" for m in messages[:last])
    answer = messages[last]["content"] if last < len(messages) else ""
    return prompt, answer


def cluster_sizes(store: Store, ids: list[str]) -> dict[str, int]:
    """How many samples share each revision's near-duplicate cluster in the latest dedup run that saw it."""
    rows = store.con.execute(
        """
        WITH latest AS (
            SELECT m.revision_id, arg_max({'run': m.run_id, 'cluster': m.cluster_id}, dr.created_at) AS k
            FROM dedup_members m JOIN dedup_runs dr ON dr.id = m.run_id
            WHERE m.revision_id IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY m.revision_id
        )
        SELECT l.revision_id, count(*) FROM latest l
        JOIN dedup_members x ON x.run_id = l.k.run AND x.cluster_id = l.k.cluster
        GROUP BY l.revision_id
        """,
        [ids],
    ).fetchall()
    return dict(rows)


def _failed_checks(store: Store, ids: list[str]) -> dict[str, list[str]]:
    rows = store.con.execute(
        "SELECT revision_id, failed FROM validation_summary WHERE revision_id IN (SELECT unnest(?::VARCHAR[]))",
        [ids],
    ).fetchall()
    return {rid: json.loads(failed) for rid, failed in rows}


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


def _record(
    row: tuple,
    labels: set[str],
    failed: list[str],
    cluster: int,
    vector: list[float] | None,
    repair: tuple[str, str, str] | None = None,
    predicted: dict[str, Prediction] | None = None,
    results: list[dict[str, Any]] | None = None,
) -> Any:
    import argilla as rg

    rid, kind, category, messages, source_type, source_name, score = row
    predicted = predicted or {}
    turns = json.loads(messages)
    last = max((i for i, m in enumerate(turns) if m["role"] == "assistant"), default=len(turns))
    answer = turns[last]["content"] if last < len(turns) else ""
    report = render(results or [], [m["role"] for m in turns], failed)
    form = form_for(kind)
    suggestions = [rg.Suggestion("decision", "approve", score=float(score or 0), agent="triforge-validators")]
    if category in labels:  # a category the dataset's question lacks stays visible in the metadata
        suggestions.append(rg.Suggestion("category", category, agent=source_type))
    elif category is None and predicted.get("category") and predicted["category"].label in labels:
        # Only where no file or person gave one: a prediction never stands in for a given label.
        guess = predicted["category"]
        suggestions.append(
            rg.Suggestion("category", guess.label, score=round(guess.score, 6), agent=suggestion_agent(CLASSIFIER))
        )
    if repair is not None:  # accepting it as the correction makes the same revision as the repair
        _, repairer, repaired = repair
        suggestions.append(rg.Suggestion("corrected_answer", repaired, agent=suggestion_agent(repairer)))
    for question, value in validator_suggestions(kind, results or []).items():
        if question in form.question_names:
            suggestions.append(rg.Suggestion(question, value, agent="triforge-validators"))
    return rg.Record(
        id=rid,
        fields=record_fields(kind, turns[:last], answer, report),
        metadata={
            "source_type": source_type,
            "source_name": source_name,
            "validation_score": float(score or 0),
            "duplicate_cluster_size": cluster,
            **({"sample_category": category} if category else {}),
            **prediction_metadata(predicted),
        },
        vectors={VECTOR_FIELD: vector} if vector is not None else {},
        suggestions=suggestions,
    )


def push(
    store: Store,
    client: Any,
    *,
    where: str | None = None,
    batch_size: int = 100,
    min_submitted: int = 1,
    vectors: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> PushSummary:
    """Send the samples matching ``where`` that were not sent before; returns what was sent where."""
    flt = compile_filter(where or DEFAULT_PUSH_FILTER)
    rows = store.con.execute(f"SELECT {COLUMNS} FROM samples WHERE {flt.sql} ORDER BY kind, id", flt.params).fetchall()
    sent_before = {r[0] for r in store.con.execute("SELECT revision_id FROM argilla_records").fetchall()}
    todo = [r for r in rows if r[0] not in sent_before]
    summary = PushSummary(already_sent=len(rows) - len(todo))
    if not todo:
        return summary
    ids = [r[0] for r in todo]
    categories = known_categories(store)
    failed, clusters, repairs = _failed_checks(store, ids), cluster_sizes(store, ids), latest_repairs(store, ids)
    predicted, results = predictions_for(store, ids), latest_results(store, ids)
    embeddings = embeddings_for(store, ids) if vectors else Embeddings(unavailable="--no-vectors")
    summary.vectors_note = embeddings.unavailable
    for kind in sorted({r[1] for r in todo}):
        dataset = ensure_dataset(client, kind, categories, min_submitted, embeddings.dimension)
        name = dataset.name  # triforge-<kind>, or its -vN where an older form holds that name
        # A dataset made with another model's dimension takes no vectors rather than failing the push.
        usable = embeddings.vectors if dataset_vector_dim(dataset) == embeddings.dimension else {}
        labels = category_labels(dataset)
        mine = [r for r in todo if r[1] == kind]
        for start in range(0, len(mine), batch_size):
            batch = mine[start : start + batch_size]
            records = [
                _record(
                    r, labels, failed.get(r[0], []), clusters.get(r[0], 1), usable.get(r[0]), repairs.get(r[0]),
                    predicted.get(r[0]), results.get(r[0]),
                )
                for r in batch
            ]  # fmt: skip
            dataset.records.log(records, batch_size=batch_size)
            with store.transaction():
                store.insert_rows(
                    "argilla_records", ("revision_id", "dataset", "pushed_at"),
                    [[r[0], name, _now()] for r in batch], on_conflict="OR REPLACE",
                )  # fmt: skip
                set_status(store, [r[0] for r in batch], "in_review", actor="argilla", reason=name)
            summary.sent += len(batch)
            summary.vectors += sum(r[0] in usable for r in batch)
            summary.repair_suggestions += sum(r[0] in repairs for r in batch)
            summary.predicted_categories += sum(
                any(x.question_name == "category" and x.agent == suggestion_agent(CLASSIFIER) for x in rec.suggestions)
                for rec in records
            )
            summary.datasets[name] = summary.datasets.get(name, 0) + len(batch)
            if progress:
                progress(summary.sent, len(todo))
    return summary

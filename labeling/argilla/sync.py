"""``triforge review push|pull``: samples out to Argilla, expert judgements back into the store.

Push sends validated, non-duplicate revisions not sent before, in batches; the Argilla record id is the
revision id and each batch is recorded in ``argilla_records`` only after Argilla accepted it, so a
crash mid-push resends at most one batch - which Argilla upserts by id, never duplicates.

Pull copies every response into ``reviews`` (reviewer, status, decision, correction, category, rating,
notes, time; upserted, so a rerun or a killed pull loses and duplicates nothing) and applies a
consensus rule once per revision (``review_outcomes``):

- ``unanimous`` (default): at least ``min_submitted`` submitted responses, all with the same decision;
- ``majority``: at least ``min_submitted`` submitted responses and more than half with one decision.

Agreement on approve with a corrected answer from an approver makes that answer a new revision (parent
link), validated; it is the correction that is approved when it passes, and it stays ``proposed`` with
its validation report when it does not. Anything else reached by ``min_submitted`` is ``disputed`` and
keeps its status until more responses arrive.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from curation.filters import compile_filter
from curation.samples import correct_sample, set_status
from curation.store import Store, StoreError
from labeling.argilla.datasets import dataset_name, ensure_dataset, known_categories

DEFAULT_PUSH_FILTER = "validation = passed and duplicate_of is null and status in (proposed, in_review)"
RULES = ("unanimous", "majority")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class PushSummary:
    sent: int = 0
    already_sent: int = 0
    datasets: dict[str, int] = field(default_factory=dict)


@dataclass
class PullSummary:
    records: int = 0
    responses: int = 0
    approved: int = 0
    rejected: int = 0
    corrected: int = 0
    disputed: int = 0
    outcomes: list[dict[str, Any]] = field(default_factory=list)


def _prompt_and_answer(messages: list[dict[str, str]]) -> tuple[str, str]:
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))
    prompt = "\n\n".join(f"**{m['role']}:** {m['content']}" for m in messages[:last])
    answer = messages[last]["content"] if last < len(messages) else ""
    return prompt, answer


def push(
    store: Store,
    client: Any,
    *,
    where: str | None = None,
    batch_size: int = 100,
    min_submitted: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> PushSummary:
    import argilla as rg

    flt = compile_filter(where or DEFAULT_PUSH_FILTER)
    rows = store.con.execute(
        f"SELECT id, kind, category, messages, source_type, source_name, validation_score FROM samples "
        f"WHERE {flt.sql} ORDER BY kind, id",
        flt.params,
    ).fetchall()
    sent_before = {r[0] for r in store.con.execute("SELECT revision_id FROM argilla_records").fetchall()}
    todo = [r for r in rows if r[0] not in sent_before]
    summary = PushSummary(already_sent=len(rows) - len(todo))
    categories = known_categories(store)
    reports = dict(
        store.con.execute("SELECT revision_id, failed FROM validation_summary WHERE revision_id IN (SELECT unnest(?))",
                          [[r[0] for r in todo]]).fetchall()
    )  # fmt: skip
    for kind in sorted({r[1] for r in todo}):
        dataset = ensure_dataset(client, kind, categories, min_submitted)
        mine = [r for r in todo if r[1] == kind]
        for start in range(0, len(mine), batch_size):
            batch = mine[start : start + batch_size]
            records = []
            for rid, _, category, messages, source_type, source_name, score in batch:
                prompt, answer = _prompt_and_answer(json.loads(messages))
                suggestions = [
                    rg.Suggestion("decision", "approve", score=float(score or 0), agent="triforge-validators")
                ]
                if category in categories:
                    suggestions.append(rg.Suggestion("category", category, agent=source_type))
                records.append(
                    rg.Record(
                        id=rid,
                        fields={"prompt": prompt, "answer": answer,
                                "validator_report": f"failed checks: {reports.get(rid, '[]')}"},
                        metadata={"source_type": source_type, "source_name": source_name,
                                  "validation_score": float(score or 0)},
                        suggestions=suggestions,
                    )
                )  # fmt: skip
            dataset.records.log(records)
            with store.transaction() as con:
                con.executemany(
                    "INSERT OR REPLACE INTO argilla_records VALUES (?, ?, ?)",
                    [[r[0], dataset_name(kind), _now()] for r in batch],
                )
            set_status(store, [r[0] for r in batch], "in_review", actor="argilla", reason=dataset_name(kind))
            summary.sent += len(batch)
            summary.datasets[dataset_name(kind)] = summary.datasets.get(dataset_name(kind), 0) + len(batch)
            if progress:
                progress(summary.sent, len(todo))
    return summary


def _decide(responses: list[dict[str, Any]], rule: str, min_submitted: int) -> str | None:
    submitted = [r for r in responses if r["status"] == "submitted" and r["decision"]]
    if len(submitted) < min_submitted:
        return None
    votes = Counter(r["decision"] for r in submitted)
    top, count = votes.most_common(1)[0]
    if rule == "unanimous":
        return top if count == len(submitted) else "disputed"
    return top if count * 2 > len(submitted) else "disputed"


def record_decision(store: Store, revision_id: str, status: str, reviewers: list[dict[str, Any]], rule: str) -> None:
    """One status event per reviewer who made the decision, so lineage names each of them."""
    for reviewer in reviewers:
        set_status(store, [revision_id], status, actor=f"argilla:{reviewer['reviewer']}", reason=f"{rule} consensus")


def pull(store: Store, client: Any, *, rule: str = "unanimous", min_submitted: int = 1) -> PullSummary:
    from curation.validators.runner import validate_samples

    if rule not in RULES:
        raise StoreError(f"unknown consensus rule {rule!r}: {', '.join(RULES)}")
    summary = PullSummary()
    users = {str(u.id): u.username for u in client.users}
    datasets = [r[0] for r in store.con.execute("SELECT DISTINCT dataset FROM argilla_records ORDER BY 1").fetchall()]
    workspace = client.workspaces("triforge")
    for name in datasets:
        dataset = client.datasets(name=name, workspace=workspace)
        if dataset is None:
            raise StoreError(f"Argilla has no dataset {name!r} any more; was the stack reset?")
        mine = {
            r[0]
            for r in store.con.execute("SELECT revision_id FROM argilla_records WHERE dataset = ?", [name]).fetchall()
        }
        for record in dataset.records(with_responses=True):
            if record.id not in mine:
                continue  # another store's record in a shared dataset: not ours to decide
            summary.records += 1
            by_user: dict[str, dict[str, Any]] = {}
            for response in record.responses:
                entry = by_user.setdefault(str(response.user_id), {"status": response.status.value})
                entry[response.question_name] = response.value
            if not by_user:
                continue
            rows = [
                {
                    "reviewer": users.get(uid, uid),
                    "status": v["status"],
                    "decision": v.get("decision"),
                    "corrected_answer": v.get("corrected_answer"),
                    "category": v.get("category"),
                    "rating": v.get("rating"),
                    "notes": v.get("notes"),
                }
                for uid, v in sorted(by_user.items())
            ]
            with store.transaction() as con:
                con.executemany(
                    "INSERT OR REPLACE INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[record.id, r["reviewer"], r["status"], r["decision"], r["corrected_answer"], r["category"],
                      r["rating"], r["notes"], None, _now()] for r in rows],
                )  # fmt: skip
            summary.responses += len(rows)
            if store.con.execute("SELECT 1 FROM review_outcomes WHERE revision_id = ?", [record.id]).fetchone():
                continue  # decided by an earlier pull
            outcome = _decide(rows, rule, min_submitted)
            if outcome is None:
                continue
            corrected_id = None
            approvers = [r for r in rows if r["status"] == "submitted" and r["decision"] == "approve"]
            correction = next((r for r in approvers if (r["corrected_answer"] or "").strip()), None)
            tags = Counter(r["category"] for r in rows if r["category"])
            if outcome == "approve" and correction is not None:
                corrected_id = correct_sample(
                    store,
                    record.id,
                    actor=f"argilla:{correction['reviewer']}",
                    answer=correction["corrected_answer"],
                    category=tags.most_common(1)[0][0] if tags else None,
                )
                validate_samples(store, f"id = {corrected_id}")
                passed = store.con.execute("SELECT validation FROM samples WHERE id = ?", [corrected_id]).fetchone()[0]
                if passed == "passed":
                    record_decision(store, corrected_id, "approved", approvers, rule)
                kind = "corrected"
                summary.corrected += 1
            elif outcome == "approve":
                record_decision(store, record.id, "approved", approvers, rule)
                kind = "approved"
                summary.approved += 1
            elif outcome == "reject":
                rejecters = [r for r in rows if r["status"] == "submitted" and r["decision"] == "reject"]
                record_decision(store, record.id, "rejected", rejecters, rule)
                kind = "rejected"
                summary.rejected += 1
            else:
                kind = "disputed"
                summary.disputed += 1
            if kind != "disputed":
                with store.transaction() as con:
                    con.execute(
                        "INSERT INTO review_outcomes VALUES (?, ?, ?, ?, ?)",
                        [record.id, kind, rule, corrected_id, _now()],
                    )
            summary.outcomes.append({"revision_id": record.id, "outcome": kind, "corrected_revision_id": corrected_id})
    return summary

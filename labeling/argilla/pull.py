"""``triforge review pull``: experts' judgements back into the store, resumably, exactly once.

Which records: only the ones still open - pushed and not yet decided (``review_outcomes``). A decided
record is final, so a pull costs in proportion to the open records, not to everything ever pushed.
Open records are read from Argilla by id, a page at a time, in revision id order.

Each page lands in one store transaction: the responses (``reviews``, upserted per record and
reviewer), every decision the consensus rule reaches on that page (status events, corrections with
their validation, ``review_outcomes``) and the dataset's cursor (``argilla_pull_cursors``: the last
revision id whose page landed). A pull killed mid-way therefore leaves whole pages behind it and
nothing half-written, and the next pull resumes after the cursor instead of starting over. A pass
that reaches the end deletes the cursor, so the pull after it reads every open record again.
Nothing is lost or applied twice.

Every form (``forms``) asks the same core questions - decision, corrected answer, category, rating,
notes - which land in ``reviews``' columns; whatever else a reviewer answered (a quest's ``realises``,
``hook_ok``, ``flag_ok``, a dialogue's ``diagnosis_matches``, ...) is kept as that review's ``answers``
(JSON), so datasets made with the older generic form and the per-kind forms pull alike.

A correction (an approver's ``corrected_answer`` - or, on a quest, ``corrected_design`` - under an
approve consensus) becomes a new revision with a parent link and source type ``expert``. It is
judged before its page's transaction opens (``curation.validators.runner.judge``: assembling takes
time) and written with its verdict; it is the correction that is approved when it passes, and it stays
``proposed`` with its validation report when it does not. Every read and write of the store goes
through ``workspace.reviews``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from curation.clock import utc_now
from curation.errors import Invalid, NotFound, StoreError
from curation.resources.reviews import QUESTIONS, Reviews
from curation.validators.runner import Judgement, judge, record_results
from curation.workspace import Workspace
from labeling.argilla.consensus import RULES, decide, voters
from labeling.argilla.datasets import WORKSPACE
from schemas.sample import SampleRevision

log = logging.getLogger(__name__)
PAGE_SIZE = 200


@dataclass
class PullSummary:
    records: int = 0
    responses: int = 0
    approved: int = 0
    rejected: int = 0
    corrected: int = 0
    disputed: int = 0
    missing: int = 0  # pushed records Argilla no longer has
    resumed_from: dict[str, str] = field(default_factory=dict)
    outcomes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Decision:
    """What one record's consensus does to the store, computed before the page's transaction."""

    revision_id: str
    outcome: str  # approved | rejected | corrected | disputed
    credited: list[dict[str, Any]]
    correction: tuple[str, SampleRevision, Judgement] | None = None


def fetch_records(client: Any, dataset_id: Any, external_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Argilla's records with these ids, responses included, by id (REST search: one request a page).

    The REST answer is read directly rather than through SDK objects: it carries each response's
    ``updated_at``, which the SDK's response objects drop, and it costs far less per record.
    """
    body = {
        "filters": {
            "and": [
                {
                    "type": "terms",
                    "scope": {"entity": "record", "property": "external_id"},
                    "values": list(external_ids),
                }
            ]
        }
    }
    reply = client.http_client.post(
        f"/api/v1/datasets/{dataset_id}/records/search",
        json=body,
        params={"include": ["responses"], "offset": 0, "limit": len(external_ids)},
    )
    if reply.status_code != 200:
        raise StoreError(f"Argilla refused the record search ({reply.status_code}): {reply.text[:300]}")
    return {item["record"]["external_id"]: item["record"] for item in reply.json()["items"]}


def _response_rows(record: dict[str, Any], usernames: Callable[[str], str]) -> list[dict[str, Any]]:
    rows = []
    for response in sorted(record.get("responses") or [], key=lambda r: str(r["user_id"])):
        values = response.get("values") or {}
        row = {q: (values.get(q) or {}).get("value") for q in QUESTIONS}
        # The form's other answers (tags): kept as they are, by question name.
        extra = {q: v.get("value") for q, v in sorted(values.items()) if q not in QUESTIONS and isinstance(v, dict)}
        row["answers"] = {q: v for q, v in extra.items() if v not in (None, "")}
        stamp = response.get("updated_at") or response.get("inserted_at")
        row.update(
            reviewer=usernames(str(response["user_id"])),
            status=response["status"],
            responded_at=datetime.fromisoformat(stamp).replace(tzinfo=None) if stamp else None,
        )
        rows.append(row)
    return rows


class _Users:
    """User id -> username, refreshed once when a response comes from a user created since."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.names = self._load()

    def _load(self) -> dict[str, str]:
        return {str(u.id): u.username for u in self.client.users}

    def __call__(self, user_id: str) -> str:
        if user_id not in self.names:
            self.names = self._load()
        return self.names.get(user_id, user_id)


def _corrected(row: dict[str, Any], question: str) -> str | None:
    """A reviewer's non-blank correction: ``corrected_answer`` is a column, the others are answers."""
    value = row.get(question) if question in QUESTIONS else (row.get("answers") or {}).get(question)
    return value if isinstance(value, str) and value.strip() else None


def _plan(
    workspace: Workspace, revision_id: str, rows: list[dict[str, Any]], rule: str, min_submitted: int
) -> _Decision | None:
    outcome = decide(rows, rule, min_submitted)
    if outcome is None:
        return None
    if outcome == "disputed":
        return _Decision(revision_id, "disputed", [])
    if outcome == "reject":
        return _Decision(revision_id, "rejected", voters(rows, "reject"))
    approvers = voters(rows, "approve")
    fix = next((r for r in approvers if _corrected(r, "corrected_answer") or _corrected(r, "corrected_design")), None)
    if fix is None:
        return _Decision(revision_id, "approved", approvers)
    tags = Counter(r["category"] for r in rows if r["category"])
    try:
        parent_id, child = workspace.samples.build_correction(
            revision_id,
            actor=f"argilla:{fix['reviewer']}",
            answer=_corrected(fix, "corrected_answer"),
            question=_corrected(fix, "corrected_design"),
            category=tags.most_common(1)[0][0] if tags else None,
        )
    except StoreError:  # the "correction" repeats the answer: it is a plain approval
        return _Decision(revision_id, "approved", approvers)
    return _Decision(revision_id, "corrected", approvers, (parent_id, child, judge(child, workspace)))


def _apply(workspace: Workspace, decision: _Decision, rule: str) -> tuple[list[tuple], list, str | None]:
    """Write a decision's correction now; return its status events and outcome row for the page's batch
    insert (row-by-row inserts would dominate a pull), and the corrected revision's id."""
    target, corrected_id = decision.revision_id, None
    if decision.correction is not None:
        parent_id, child, judgement = decision.correction
        actor = f"argilla:{decision.credited[0]['reviewer']}"
        corrected_id = workspace.samples.write_correction(parent_id, child, actor=actor)
        record_results(workspace, [(corrected_id, child.kind, judgement.results)])
        target = corrected_id if judgement.passed else None
    status = {"approved": "approved", "corrected": "approved", "rejected": "rejected"}[decision.outcome]
    # One status event per reviewer who made the decision, so lineage names each of them.
    events = (
        [(target, status, f"argilla:{r['reviewer']}", f"{rule} consensus") for r in decision.credited]
        if target is not None
        else []
    )
    return events, [decision.revision_id, decision.outcome, rule, corrected_id, utc_now()], corrected_id


def pull(
    ws: Workspace,
    client: Any,
    *,
    rule: str = "unanimous",
    min_submitted: int = 1,
    ids: Sequence[str] | None = None,
    page_size: int = PAGE_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> PullSummary:
    """Read responses on open records, apply the consensus rule; ``ids`` pulls just those (webhooks)."""
    if rule not in RULES:
        raise Invalid(f"unknown consensus rule {rule!r}: {', '.join(RULES)}")
    reviews = ws.reviews
    summary = PullSummary()
    usernames = _Users(client)
    workspace = client.workspaces(WORKSPACE)
    todo = reviews.open_records(ids)
    cursors = {} if ids is not None else reviews.cursors()
    for name, after in cursors.items():
        if name in todo:
            todo[name] = [rid for rid in todo[name] if rid > after]
            summary.resumed_from[name] = after
    total, done = sum(len(v) for v in todo.values()), 0
    for name, rids in todo.items():
        dataset = client.datasets(name=name, workspace=workspace) if workspace is not None else None
        if dataset is None:
            raise NotFound(f"Argilla has no dataset {name!r} any more; was the stack reset?")
        started = utc_now()
        for start in range(0, len(rids), page_size):
            page = rids[start : start + page_size]
            # A pull by id (webhooks) is not a pass over the dataset: it leaves the cursor alone.
            cursor = (name, started) if ids is None else None
            _pull_page(reviews, client, dataset.id, page, usernames, rule, min_submitted, summary, cursor)
            done += len(page)
            log.info("%s: page ending %s stored (%d/%d records)", name, page[-1][:12], done, total)
            if progress:
                progress(done, total)
    if ids is None:
        reviews.clear_cursors()  # a full pass: the next pull starts at the top
    return summary


def _pull_page(
    reviews: Reviews,
    client: Any,
    dataset_id: Any,
    page: list[str],
    usernames: _Users,
    rule: str,
    min_submitted: int,
    summary: PullSummary,
    cursor: tuple[str, datetime] | None,
) -> None:
    """Fetch one page, plan its decisions (validating corrections), then write it all - responses,
    decisions and the dataset's cursor (``cursor``: dataset name, pass start) - in one transaction."""
    workspace = reviews.workspace
    records = fetch_records(client, dataset_id, page)
    summary.missing += len(page) - len(records)
    responses = {rid: _response_rows(records[rid], usernames) for rid in page if rid in records}
    responses = {rid: rows for rid, rows in responses.items() if rows}
    decisions = [d for rid, rows in responses.items() if (d := _plan(workspace, rid, rows, rule, min_submitted))]
    pulled_at = utc_now()
    with workspace.transaction():
        reviews.save_responses(
            [[rid, r["reviewer"], r["status"], r["decision"], r["corrected_answer"], r["category"], r["rating"],
              r["notes"], json.dumps(r["answers"]) if r["answers"] else None, r["responded_at"], pulled_at]
             for rid, rows in responses.items() for r in rows],
        )  # fmt: skip
        applied, events, outcomes = [], [], []
        for decision in decisions:
            corrected_id = None
            if decision.outcome != "disputed":
                more, outcome, corrected_id = _apply(workspace, decision, rule)
                events += more
                outcomes.append(outcome)
            applied.append((decision, corrected_id))
        workspace.samples.record_status_events(events)
        reviews.save_outcomes(outcomes)
        if cursor is not None:
            name, started = cursor
            reviews.save_cursor(name, page[-1], started)
    # Counted only once the page has landed.
    summary.records += len(records)
    summary.responses += sum(len(rows) for rows in responses.values())
    for decision, corrected_id in applied:
        setattr(summary, decision.outcome, getattr(summary, decision.outcome) + 1)
        summary.outcomes.append(
            {"revision_id": decision.revision_id, "outcome": decision.outcome, "corrected_revision_id": corrected_id}
        )

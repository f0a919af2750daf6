"""``workspace.reviews``: what went to Argilla, what reviewers answered, and what was decided.

The store's side of expert review, so ``labeling/argilla`` (push, pull, stats, the validator report)
holds no SQL: the candidates a push sends and what it knows about them (failed checks, near-duplicate
cluster sizes, how common their category is), the ``argilla_records`` ledger, the responses pulled into
``reviews``, ``review_outcomes`` and the resumable pull's cursors, and the figures ``review stats``
shows. Writes are meant to be called inside ``store.transaction()`` by the pull, which lands each page
of responses and decisions whole.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from curation.clock import utc_now
from curation.filters import compile_filter
from curation.resources import Resource

OUTCOME_COLUMNS = ("revision_id", "outcome", "rule", "corrected_revision_id", "decided_at")
QUESTIONS = ("decision", "corrected_answer", "category", "rating", "notes")
REVIEW_COLUMNS = ("revision_id", "reviewer", "status", *QUESTIONS, "answers", "responded_at", "pulled_at")


@dataclass(frozen=True)
class Candidate:
    """A sample a push may send: what its Argilla record is built from."""

    id: str
    kind: str
    category: str | None
    messages: list[dict[str, str]]
    source_type: str
    source_name: str | None
    validation_score: float | None
    validation: str | None  # passed | failed | None (not validated)


@dataclass(frozen=True)
class StoredReview:
    """One reviewer's response to one record, as pulled."""

    revision_id: str
    kind: str
    reviewer: str
    status: str
    decision: str | None
    corrected_answer: str | None
    category: str | None
    rating: int | None
    notes: str | None
    answers: dict[str, Any]
    responded_at: datetime | None


@dataclass(frozen=True)
class ReviewerTotals:
    reviewer: str
    submitted: int
    approve: int
    reject: int
    corrections: int
    last_pull: str


@dataclass(frozen=True)
class ReviewerDay:
    """What one reviewer submitted on one (UTC) day, and when: the times Argilla stamped the responses."""

    reviewer: str
    day: date
    submitted: int
    first: datetime
    last: datetime
    stamps: tuple[datetime, ...]


@dataclass(frozen=True)
class SubmittedVote:
    revision_id: str
    sample_category: str | None
    decision: str | None
    tag: str | None


class Reviews(Resource):
    # --- push ------------------------------------------------------------------------------------

    def candidates(self, where: str) -> list[Candidate]:
        """Samples matching the filter ``where`` (the ``samples`` filter language), in kind and id order."""
        flt = compile_filter(where)
        rows = self.store.con.execute(
            "SELECT id, kind, category, messages, source_type, source_name, validation_score, validation "
            f"FROM samples WHERE {flt.sql} ORDER BY kind, id",
            flt.params,
        ).fetchall()
        return [Candidate(r[0], r[1], r[2], json.loads(r[3]), *r[4:]) for r in rows]

    def sent_ids(self) -> set[str]:
        """Every revision ever pushed (record id = revision id: a push never sends one twice)."""
        return {r[0] for r in self.store.con.execute("SELECT revision_id FROM argilla_records").fetchall()}

    def cluster_sizes(self, ids: Sequence[str]) -> dict[str, int]:
        """How many samples share each revision's near-duplicate cluster in the latest dedup run that saw it."""
        rows = self.store.con.execute(
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
            [list(ids)],
        ).fetchall()
        return dict(rows)

    def failed_checks(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The required validators each revision failed (its validation summary), where any did."""
        rows = self.store.con.execute(
            "SELECT revision_id, failed FROM validation_summary WHERE revision_id IN (SELECT unnest(?::VARCHAR[]))",
            [list(ids)],
        ).fetchall()
        return {rid: json.loads(failed) for rid, failed in rows}

    def category_counts(self) -> dict[tuple[str, str | None], int]:
        """Samples per (kind, category) among the current ones: how represented each category is."""
        rows = self.store.con.execute(
            "SELECT kind, category, count(*) FROM samples WHERE status NOT IN ('superseded', 'rejected') GROUP BY 1, 2"
        ).fetchall()
        return {(kind, category): n for kind, category, n in rows}

    def stored_categories(self) -> list[str]:
        return [
            r[0]
            for r in self.store.con.execute(
                "SELECT DISTINCT category FROM revisions WHERE category IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]

    def latest_results(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Each revision's latest result per validator: ``{validator, passed, score, issues}``."""
        rows = self.store.con.execute(
            """
            SELECT revision_id, validator,
                   arg_max(passed, validated_at), arg_max(score, validated_at), arg_max(issues, validated_at)
            FROM validation_results WHERE revision_id IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY 1, 2 ORDER BY 1, 2
            """,
            [list(ids)],
        ).fetchall()
        found: dict[str, list[dict[str, Any]]] = {}
        for rid, validator, passed, score, issues in rows:
            found.setdefault(rid, []).append(
                {"validator": validator, "passed": bool(passed), "score": float(score), "issues": json.loads(issues)}
            )
        return found

    def record_sent(self, ids: Sequence[str], dataset: str) -> None:
        """Ledger the records Argilla accepted and put their samples in review, in one transaction.

        ``ids`` are full revision ids (push reads them from the store), so their status events go in
        as one insert; resolving each as a possible prefix was a query per id, 0.3 s per 500."""
        with self.store.transaction():
            now = utc_now()
            self.store.insert_rows(
                "argilla_records",
                ("revision_id", "dataset", "pushed_at"),
                [[rid, dataset, now] for rid in ids],
                on_conflict="OR REPLACE",
            )
            self.workspace.samples.record_status_events([(rid, "in_review", "argilla", dataset) for rid in ids])

    # --- pull ------------------------------------------------------------------------------------

    def open_records(self, ids: Sequence[str] | None = None) -> dict[str, list[str]]:
        """Pushed, undecided revision ids per dataset, in id order (optionally only ``ids``)."""
        sql = (
            "SELECT a.dataset, a.revision_id FROM argilla_records a "
            "WHERE NOT EXISTS (SELECT 1 FROM review_outcomes o WHERE o.revision_id = a.revision_id)"
        )
        params: list[Any] = []
        if ids is not None:
            sql += " AND a.revision_id IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(ids))
        found: dict[str, list[str]] = {}
        for dataset, rid in self.store.con.execute(sql + " ORDER BY a.dataset, a.revision_id", params).fetchall():
            found.setdefault(dataset, []).append(rid)
        return found

    def cursors(self) -> dict[str, str]:
        """Per dataset, the last revision id an interrupted pull stored (resume after it)."""
        return dict(self.store.con.execute("SELECT dataset, last_revision_id FROM argilla_pull_cursors").fetchall())

    def clear_cursors(self) -> None:
        """A full pass finished: the next pull starts at the top."""
        with self.store.transaction() as con:
            con.execute("DELETE FROM argilla_pull_cursors")

    def save_cursor(self, dataset: str, last_revision_id: str, started: datetime) -> None:
        """Advance a dataset's cursor (keeping when its pass started); call in the page's transaction."""
        self.store.con.execute(
            "INSERT OR REPLACE INTO argilla_pull_cursors VALUES (?, ?, coalesce("
            "(SELECT started_at FROM argilla_pull_cursors WHERE dataset = ?), ?), ?)",
            [dataset, last_revision_id, dataset, started, utc_now()],
        )

    def save_responses(self, rows: Sequence[Sequence[object]]) -> None:
        """Upsert responses, one per (record, reviewer), as rows in ``REVIEW_COLUMNS`` order."""
        self.store.insert_rows("reviews", REVIEW_COLUMNS, rows, on_conflict="OR REPLACE")

    def save_outcomes(self, rows: Sequence[Sequence[object]]) -> None:
        """Record decisions, as rows in ``OUTCOME_COLUMNS`` order (a decided record is final)."""
        self.store.insert_rows("review_outcomes", OUTCOME_COLUMNS, rows)

    def outcomes(self) -> dict[str, str]:
        return dict(self.store.con.execute("SELECT revision_id, outcome FROM review_outcomes").fetchall())

    def for_sample(self, revision_id: str) -> list[StoredReview]:
        """Every reviewer's response to one sample, with its form's own answers, oldest first."""
        return self._responses("v.revision_id = ?", [revision_id], "v.responded_at NULLS LAST, v.reviewer")

    def by_reviewer(self, reviewer: str) -> list[StoredReview]:
        """Every response ``reviewer`` gave, with the reviewed sample's kind, in revision id order."""
        return self._responses("v.reviewer = ?", [reviewer], "v.revision_id")

    def _responses(self, where: str, params: list[object], order: str) -> list[StoredReview]:
        rows = self.store.con.execute(
            "SELECT v.revision_id, r.kind, v.reviewer, v.status, v.decision, v.corrected_answer, v.category, "
            "v.rating, v.notes, v.answers, v.responded_at FROM reviews v JOIN revisions r ON r.id = v.revision_id "
            f"WHERE {where} ORDER BY {order}",
            params,
        ).fetchall()
        return [StoredReview(*r[:9], json.loads(r[9]) if r[9] else {}, r[10]) for r in rows]

    # --- stats -----------------------------------------------------------------------------------

    def reviewer_totals(self) -> list[ReviewerTotals]:
        rows = self.store.con.execute(
            "SELECT reviewer, count(*) FILTER (WHERE status = 'submitted'), "
            "count(*) FILTER (WHERE decision = 'approve'), count(*) FILTER (WHERE decision = 'reject'), "
            "count(*) FILTER (WHERE coalesce(corrected_answer, '') <> '' "
            "OR coalesce(answers->>'$.corrected_design', '') <> ''), max(pulled_at) "
            "FROM reviews GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
        return [ReviewerTotals(*r[:5], str(r[5])[:19]) for r in rows]

    def reviewer_days(self) -> list[ReviewerDay]:
        """Submitted responses per reviewer per UTC day, with each response's time (Argilla's stamp)."""
        rows = self.store.con.execute(
            "SELECT reviewer, CAST(responded_at AS DATE), list(responded_at ORDER BY responded_at) "
            "FROM reviews WHERE status = 'submitted' AND responded_at IS NOT NULL GROUP BY 1, 2 ORDER BY 2, 1"
        ).fetchall()
        return [ReviewerDay(who, day, len(stamps), stamps[0], stamps[-1], tuple(stamps)) for who, day, stamps in rows]

    def record_states(self) -> dict[str, int]:
        """Records sent to Argilla by state: an outcome, responded but undecided, or awaiting a response."""
        return dict(
            self.store.con.execute(
                "SELECT CASE WHEN o.revision_id IS NOT NULL THEN o.outcome "
                "WHEN EXISTS (SELECT 1 FROM reviews v WHERE v.revision_id = a.revision_id AND v.status = 'submitted') "
                "THEN 'responded, undecided' ELSE 'awaiting a response' END, count(*) "
                "FROM argilla_records a LEFT JOIN review_outcomes o USING (revision_id) GROUP BY 1"
            ).fetchall()
        )

    def submitted_votes(self) -> list[SubmittedVote]:
        """Each submitted response's decision and category tag, with the sample's category."""
        rows = self.store.con.execute(
            "SELECT v.revision_id, r.category, v.decision, v.category FROM reviews v "
            "JOIN revisions r ON r.id = v.revision_id WHERE v.status = 'submitted' ORDER BY v.revision_id, v.reviewer"
        ).fetchall()
        return [SubmittedVote(*r) for r in rows]


__all__ = [
    "OUTCOME_COLUMNS",
    "QUESTIONS",
    "REVIEW_COLUMNS",
    "Candidate",
    "ReviewerDay",
    "ReviewerTotals",
    "Reviews",
    "StoredReview",
    "SubmittedVote",
]

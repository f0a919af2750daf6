"""``workspace.submissions``: community submissions and the answers remembered for retried requests.

A submission row links the API key that sent it to the revision it produced (new, or one already
stored), with the validation report and duplicate verdict it got at the time. Writes happen inside
the caller's transaction (:meth:`Submissions.add`, :meth:`Submissions.remember_answer`), so a
submission, its revision and the ``Idempotency-Key`` record that answers it land together or not
at all - the HTTP service's "acknowledged means durable".
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from curation.clock import utc_now
from curation.errors import NotFound
from curation.resources import Resource
from curation.resources.samples import PendingRevision
from schemas.sample import SampleRevision
from schemas.validation import ValidationResult


@dataclass(frozen=True)
class SubmissionRecord:
    """A stored submission, with what became of its sample since (review status, later dedup)."""

    id: str
    key_id: str
    revision_id: str
    valid: bool
    duplicate_of: str | None  # what it duplicated when it arrived
    similarity: float | None
    validation: list[ValidationResult]
    created_at: datetime
    sample_status: str
    later_duplicate_of: str | None  # what a dedup run marked its sample a duplicate of since


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to an ``Idempotency-Key``: what it was for, and the answer to replay."""

    operation: str
    fingerprint: str
    status: int
    body: Any
    location: str | None


def _record(row: tuple) -> SubmissionRecord:
    sid, key_id, rid, valid, dup, sim, report, created, sample_status, later_dup = row
    validation = [ValidationResult(**r) for r in json.loads(report)]
    return SubmissionRecord(sid, key_id, rid, valid, dup, sim, validation, created, sample_status, later_dup)


class Submissions(Resource):
    def add(
        self,
        revision: SampleRevision,
        results: Sequence[ValidationResult],
        *,
        key_id: str,
        contributor: str,
        valid: bool,
        status: str,
        duplicate: tuple[str, float] | None,
        existed: bool,
    ) -> str:
        """Write one submission inside the caller's transaction: its revision (with ``status``) unless
        ``existed`` and the submission row, which keeps the report it was answered with. Returns the
        submission id. The results become the revision's verdicts through ``runner.record_results``."""
        submission_id = uuid.uuid4().hex
        if not existed:
            self.workspace.samples.write(
                [PendingRevision(revision, status, 0)],
                import_id=f"submission:{submission_id}",
                actor=f"community:{contributor}",
            )
        self.store.con.execute(
            "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                submission_id,
                key_id,
                contributor,
                revision.id,
                valid,
                duplicate[0] if duplicate else None,
                duplicate[1] if duplicate else None,
                json.dumps([r.model_dump(exclude_none=True) for r in results]),
                utc_now(),
            ],
        )
        return submission_id

    _SELECT = (
        "SELECT s.id, s.key_id, s.revision_id, s.valid, s.duplicate_of, s.similarity, s.report, s.created_at, "
        "x.status, x.duplicate_of FROM submissions s JOIN samples x ON x.id = s.revision_id"
    )

    def get(self, submission_id: str) -> SubmissionRecord:
        row = self.store.con.execute(f"{self._SELECT} WHERE s.id = ?", [submission_id]).fetchone()
        if not row:
            raise NotFound(f"no submission {submission_id}")
        return _record(row)

    def of_key(self, key_id: str) -> list[SubmissionRecord]:
        """Everything one key sent, newest first, in one query (``/v1/me`` runs under the service's lock)."""
        rows = self.store.con.execute(f"{self._SELECT} WHERE s.key_id = ? ORDER BY s.created_at DESC", [key_id])
        return [_record(row) for row in rows.fetchall()]

    def owner(self, submission_id: str) -> str | None:
        """The id of the API key that sent it; None when there is no such submission."""
        row = self.store.con.execute("SELECT key_id FROM submissions WHERE id = ?", [submission_id]).fetchone()
        return row[0] if row else None

    def count(self) -> int:
        return self.store.con.execute("SELECT count(*) FROM submissions").fetchone()[0]

    # --- Idempotency-Key records ------------------------------------------------------------------

    def answer_for(self, key_id: str, idempotency_key: str) -> StoredAnswer | None:
        """The answer remembered for this API key's ``idempotency_key``, None when there is none."""
        row = self.store.con.execute(
            "SELECT operation, fingerprint, status, body, location FROM idempotency_records "
            "WHERE key_id = ? AND idempotency_key = ?",
            [key_id, idempotency_key],
        ).fetchone()
        if row is None:
            return None
        operation, fingerprint, status, body, location = row
        return StoredAnswer(operation, fingerprint, status, json.loads(body), location)

    def remember_answer(self, key_id: str, idempotency_key: str, answer: StoredAnswer) -> None:
        """Store the answer; call inside the transaction of the writes it reports."""
        self.store.con.execute(
            "INSERT INTO idempotency_records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key_id,
                idempotency_key,
                answer.operation,
                answer.fingerprint,
                answer.status,
                json.dumps(answer.body, ensure_ascii=False),
                answer.location,
                utc_now(),
            ],
        )

    def answer_count(self) -> int:
        return self.store.con.execute("SELECT count(*) FROM idempotency_records").fetchone()[0]


__all__ = ["StoredAnswer", "SubmissionRecord", "Submissions"]

"""What the HTTP layer calls: one object that owns the workspace's store while the service runs.

DuckDB allows one writing process, so the service holds the store for its lifetime (a CLI writer
meanwhile gets an error naming this process) and serialises access with a lock: requests run in a
thread pool. Submissions are judged by :class:`pipelines.check.OnlineCheck` - the kind's full
profile, and a duplicate lookup against the whole corpus at once through the MinHash index it keeps
in memory (loaded from the one ``triforge dedup run`` persisted in this workspace, topped up with
anything stored since).

Acknowledged means durable: a submission (or a whole batch) is one transaction together with its
``Idempotency-Key`` record, and the answer is built only after it commits, so a client told 201 can
rely on the row surviving a SIGKILL, and a client told nothing can retry with the same key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curation.backup import BackupManifest, write_backup
from curation.integrity import StoreCheck, verify_store
from curation.resources.keys import ApiKey
from curation.resources.submissions import SubmissionRecord
from curation.workspace import Workspace
from labeling.api.idempotency import Answer, IdempotentRequest, previous_answer, remember
from labeling.api.models import BatchLine, BatchOut, ContributorOut, DuplicateOf, SubmissionIn, SubmissionOut
from pipelines.check import OnlineCheck, PendingSignatures, Verdict
from schemas.sample import Message, Provenance, Role, SampleRevision, SourceType

if TYPE_CHECKING:
    from curation.store import Store

# A batch line: its parsed submission, or the errors that kept it out (by line number).
BatchItem = tuple[int, SubmissionIn | list[dict[str, Any]]]

# Review statuses a submission reports as they are; before review it is validated, invalid or a duplicate.
_REVIEW_STATUSES = ("approved", "rejected", "in_review")


def revision_of(key: ApiKey, payload: SubmissionIn) -> SampleRevision:
    """The revision a submission stands for: community provenance naming the key's owner, and the
    body as it arrived kept as the original."""
    return SampleRevision(
        kind=payload.kind,
        category=payload.category,
        messages=tuple(Message(role=Role(t.role), content=t.content) for t in payload.turns()),
        metadata={"format": "community", "submitted_by": key.name},
        provenance=Provenance(
            source_type=SourceType.community,
            source_name=key.name,
            original=payload.model_dump(exclude_none=True, mode="json"),
        ),
    )


def submission_out(record: SubmissionRecord) -> SubmissionOut:
    """A stored submission as the API reports it, with its status as of now (review, later dedup)."""
    if record.duplicate_of:
        duplicate = DuplicateOf(id=record.duplicate_of, similarity=record.similarity)
    elif record.later_duplicate_of:
        duplicate = DuplicateOf(id=record.later_duplicate_of, similarity=0.0)
    else:
        duplicate = None
    if record.sample_status in _REVIEW_STATUSES:
        status = record.sample_status
    elif duplicate is not None:
        status = "duplicate"
    else:
        status = "validated" if record.valid else "invalid"
    return SubmissionOut(
        id=record.id,
        sample_id=record.revision_id,
        status=status,
        valid=record.valid,
        duplicate_of=duplicate,
        validation=record.validation,
        created_at=record.created_at,
    )


class SubmissionService:
    """The workspace, its online check, and the lock every request holds while it uses the store."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.lock = threading.RLock()
        self.check = OnlineCheck(workspace)

    @property
    def store(self) -> Store:
        """The open store (for tests and the Argilla listener, which run library calls under the lock)."""
        return self.workspace.store

    def close(self) -> None:
        self.workspace.close()

    # --- submissions ------------------------------------------------------------------------------

    def submit(self, key: ApiKey, payload: SubmissionIn, idempotency: IdempotentRequest | None = None) -> Answer:
        """Validate, dedup-check and store one submission: 201 when its content is new, 200 when
        identical content was already there (the body says what it duplicates)."""

        def work(pending: PendingSignatures) -> Answer:
            verdict = self.check.run(revision_of(key, payload), pending)
            out = self._write(key, verdict)
            return Answer(200 if verdict.existed else 201, out.model_dump(mode="json"), f"/v1/submissions/{out.id}")

        return self._once(key, idempotency, work)

    def submit_batch(self, key: ApiKey, lines: list[BatchItem], idempotency: IdempotentRequest | None = None) -> Answer:
        """Store every line that fits and report each by line number. The batch is one transaction:
        its 200 means every accepted line is stored, and a crash before then stores none of them (the
        price: other requests wait for the whole batch, up to ``max_batch`` validations)."""

        def work(pending: PendingSignatures) -> Answer:
            results: list[BatchLine] = []
            for n, item in lines:
                if isinstance(item, SubmissionIn):
                    verdict = self.check.run(revision_of(key, item), pending)
                    results.append(BatchLine(line=n, submission=self._write(key, verdict)))
                else:
                    results.append(BatchLine(line=n, errors=item))
            accepted = sum(r.submission is not None for r in results)
            out = BatchOut(accepted=accepted, rejected=len(results) - accepted, results=results)
            return Answer(200, out.model_dump(mode="json"))

        return self._once(key, idempotency, work)

    def _once(
        self, key: ApiKey, idempotency: IdempotentRequest | None, work: Callable[[PendingSignatures], Answer]
    ) -> Answer:
        """Run ``work`` in one transaction with its idempotency record, unless the key already has an
        answer. The answer is returned only after COMMIT, so whatever a client is told was stored is
        on disk (DuckDB's WAL) before the response leaves; a SIGKILL before that loses the request
        whole, and the client's retry with the same key runs it again."""
        submissions = self.workspace.submissions
        with self.lock:
            if idempotency is not None:
                previous = previous_answer(submissions, key.id, idempotency)
                if previous is not None:
                    return previous
            pending = PendingSignatures()
            with self.workspace.store.transaction():
                answer = work(pending)
                if idempotency is not None:
                    remember(submissions, key.id, idempotency, answer)
            # Committed: only now do later submissions compare against these (a rollback adds nothing).
            self.check.publish(pending)
            return answer

    def _write(self, key: ApiKey, verdict: Verdict) -> SubmissionOut:
        """Write one judged submission inside the caller's transaction and read back its report.
        Only valid, new work enters review (``proposed``); the rest is kept as a draft."""
        duplicate = verdict.duplicate
        submission_id = self.workspace.submissions.add(
            verdict.revision,
            verdict.judgement.results,
            key_id=key.id,
            contributor=key.name,
            valid=verdict.valid,
            status="proposed" if verdict.valid and duplicate is None else "draft",
            duplicate=(duplicate.id, duplicate.similarity) if duplicate else None,
            existed=verdict.existed,
        )
        return submission_out(self.workspace.submissions.get(submission_id))

    def get(self, submission_id: str) -> SubmissionOut:
        with self.lock:
            return submission_out(self.workspace.submissions.get(submission_id))

    def owner(self, submission_id: str) -> str | None:
        with self.lock:
            return self.workspace.submissions.owner(submission_id)

    def contributor(self, key: ApiKey, recent: int = 20) -> ContributorOut:
        with self.lock:
            subs = [submission_out(record) for record in self.workspace.submissions.of_key(key.id)]
        approved = sum(s.status == "approved" for s in subs)
        return ContributorOut(
            name=key.name,
            role=key.role,
            submissions=len(subs),
            valid=sum(s.valid for s in subs),
            duplicates=sum(s.status == "duplicate" for s in subs),
            approved=approved,
            rejected=sum(s.status == "rejected" for s in subs),
            acceptance_rate=round(approved / len(subs), 4) if subs else None,
            recent=subs[:recent],
        )

    # --- keys -----------------------------------------------------------------------------------------

    def authenticate(self, secret: str) -> ApiKey | None:
        with self.lock:
            return self.workspace.keys.authenticate(secret)

    # --- operations -------------------------------------------------------------------------------

    def backup(self, folder: Path) -> BackupManifest:
        """A consistent copy of the store, made under the lock: no request writes while it is taken."""
        with self.lock:
            return write_backup(self.workspace.store, folder)

    def verify(self) -> StoreCheck:
        """Re-hash every snapshot and revision; submissions wait meanwhile (seconds per 100k revisions)."""
        with self.lock:
            return verify_store(self.workspace.store)

    # --- curator writes -----------------------------------------------------------------------------

    def mark(self, ids: list[str], status: str, *, actor: str, reason: str | None) -> list[str]:
        """Record a status decision on samples (all or none); returns their full ids."""
        with self.lock:
            return self.workspace.samples.set_status(ids, status, actor=actor, reason=reason)

    def correct(self, sample_id: str, *, actor: str, answer: str | None, category: str | None) -> tuple[str, str]:
        """Write an expert's correction; returns (new revision id, full parent id). The new revision
        joins the in-memory MinHash index, so a later submission of the same text is a duplicate."""
        samples = self.workspace.samples
        with self.lock:
            parent_id = samples.resolve(sample_id)
            new_id = samples.correct(parent_id, actor=actor, answer=answer, category=category)
            self.check.remember(samples.get(new_id).revision)
            return new_id, parent_id

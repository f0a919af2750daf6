"""What the HTTP layer calls: one object that owns the workspace's store while the service runs.

DuckDB allows one writing process, so the service holds the store for its lifetime (a CLI writer
meanwhile gets an error naming this process) and serialises access with a lock: requests run in a
thread pool. Submissions are judged in two stages by :class:`pipelines.check.OnlineCheck`: the
kind's full profile (Asar in its sandbox) runs *outside* the lock, on the judging pool
(:mod:`labeling.api.judging`: one judgement per key at a time, a short assembler timeout, a per-key
budget of judging seconds), so a snippet that loops forever delays nobody else; then, under the
lock, the duplicate lookup against the whole corpus through the MinHash index it keeps in memory
(loaded from the one ``triforge dedup run`` persisted in this workspace, topped up with anything
stored since) and the write.

Acknowledged means durable: a submission (or a whole batch) is one transaction together with its
``Idempotency-Key`` record, and the answer is built only after it commits, so a client told 201 can
rely on the row surviving a SIGKILL, and a client told nothing can retry with the same key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.concurrency import run_in_threadpool

from curation.backup import BackupManifest, write_backup
from curation.integrity import StoreCheck, verify_store
from curation.resources.keys import ApiKey
from curation.resources.submissions import SubmissionRecord
from curation.validators.asar import Asar
from curation.validators.asm_assembles import AsmAssembles, MemoryAsmCache
from curation.validators.base import Validator
from curation.validators.rom_patch import RomPatch
from curation.validators.runner import Judgement, record_results
from curation.validators.sandbox import Bubblewrap, SandboxUnavailable, default_sandbox
from curation.workspace import Workspace
from labeling.api.idempotency import Answer, IdempotentRequest, previous_answer, remember
from labeling.api.judging import JudgingBudgetSpent, JudgingPool
from labeling.api.models import BatchLine, BatchOut, ContributorOut, DuplicateOf, SubmissionIn, SubmissionOut
from labeling.api.settings import ServiceSettings
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


def untrusted_validators(settings: ServiceSettings) -> dict[str, Validator]:
    """The validators that run a contributor's code, configured for strangers: Asar in bubblewrap with the
    short per-submission timeout (``asm_assembles``, and ``rom_patch`` for patches)."""
    assembler = untrusted_assembler(settings)
    return {assembler.name: assembler, "rom_patch": RomPatch(assembler.asar)}


def untrusted_assembler(settings: ServiceSettings) -> AsmAssembles:
    """``asm_assembles`` as the service runs it: in bubblewrap (nothing else will do for code from
    strangers), with the short per-submission timeout, and an in-memory outcome cache (judging runs
    outside the store lock, so it must not read the store's cache)."""
    sandbox = default_sandbox()
    if not isinstance(sandbox, Bubblewrap):
        raise SandboxUnavailable(
            "the service assembles contributors' code only inside bubblewrap; TRIFORGE_ASAR_SANDBOX=off is for "
            "files you trust on the command line - unset it (and install bubblewrap) to serve"
        )
    asar = Asar(timeout=settings.assembler_timeout, sandbox=sandbox)
    return AsmAssembles(asar, MemoryAsmCache(max_entries=20_000), budget=settings.assembler_timeout)


# A revision ready to place and write, or the errors that keep its batch line out.
_Judged = tuple[int, SampleRevision, Judgement] | tuple[int, list[dict[str, Any]]]


class SubmissionService:
    """The workspace, its online check and judging pool, and the lock every request holds while it
    uses the store."""

    def __init__(self, workspace: Workspace, settings: ServiceSettings | None = None) -> None:
        settings = settings or ServiceSettings()
        self.workspace = workspace
        self.lock = threading.RLock()
        substitutes = untrusted_validators(settings)  # before opening anything: no sandbox, no service
        self.check = OnlineCheck(workspace, substitutes=substitutes)
        self.judging = JudgingPool(self.check, settings)
        self._health = (0, 0)

    @property
    def store(self) -> Store:
        """The open store (for tests and the Argilla listener, which run library calls under the lock)."""
        return self.workspace.store

    def close(self) -> None:
        self.judging.close()
        self.workspace.close()

    # --- health -----------------------------------------------------------------------------------

    def health(self) -> tuple[int, int]:
        """(revisions stored, schema version) - fresh when the store is free, else as of the last
        look: a health check never waits behind a write."""
        if self.lock.acquire(blocking=False):
            try:
                self._health = (self.workspace.samples.total(), self.workspace.store.schema_version)
            finally:
                self.lock.release()
        return self._health

    # --- submissions ------------------------------------------------------------------------------

    async def submit(self, key: ApiKey, payload: SubmissionIn, idempotency: IdempotentRequest | None = None) -> Answer:
        """Validate, dedup-check and store one submission: 201 when its content is new, 200 when
        identical content was already there (the body says what it duplicates). Raises
        :class:`JudgingBudgetSpent` (429) when the key has no judging seconds left."""
        previous = await run_in_threadpool(self._previous, key, idempotency)
        if previous is not None:
            return previous
        revision = revision_of(key, payload)
        judgement = await self.judging.judge(key.id, revision)

        def write(pending: PendingSignatures) -> Answer:
            verdict = self.check.place(revision, judgement, pending)
            out = self._write(key, verdict)
            return Answer(200 if verdict.existed else 201, out.model_dump(mode="json"), f"/v1/submissions/{out.id}")

        return await run_in_threadpool(self._once, key, idempotency, write)

    async def submit_batch(
        self, key: ApiKey, lines: list[BatchItem], idempotency: IdempotentRequest | None = None
    ) -> Answer:
        """Store every line that fits and report each by line number. The lines are judged one by
        one, outside the lock; then the batch is written as one transaction: its 200 means every
        accepted line is stored, and a crash before then stores none of them. A line reached after the
        key's judging budget ran out comes back with an error (resend it later), not stored."""
        previous = await run_in_threadpool(self._previous, key, idempotency)
        if previous is not None:
            return previous
        judged: list[_Judged] = []
        for n, item in lines:
            if not isinstance(item, SubmissionIn):
                judged.append((n, item))
                continue
            revision = revision_of(key, item)
            try:
                judged.append((n, revision, await self.judging.judge(key.id, revision)))
            except JudgingBudgetSpent as exc:
                judged.append((n, [{"loc": ["line", n], "msg": str(exc), "type": "budget_spent"}]))

        def write(pending: PendingSignatures) -> Answer:
            results: list[BatchLine] = []
            for entry in judged:
                if len(entry) == 3:
                    n, revision, judgement = entry
                    verdict = self.check.place(revision, judgement, pending)
                    results.append(BatchLine(line=n, submission=self._write(key, verdict)))
                else:
                    results.append(BatchLine(line=entry[0], errors=entry[1]))
            accepted = sum(r.submission is not None for r in results)
            out = BatchOut(accepted=accepted, rejected=len(results) - accepted, results=results)
            return Answer(200, out.model_dump(mode="json"))

        return await run_in_threadpool(self._once, key, idempotency, write)

    def _previous(self, key: ApiKey, idempotency: IdempotentRequest | None) -> Answer | None:
        """The stored answer to this Idempotency-Key, looked up before judging so a retry costs nothing."""
        if idempotency is None:
            return None
        with self.lock:
            return previous_answer(self.workspace.submissions, key.id, idempotency)

    def _once(
        self, key: ApiKey, idempotency: IdempotentRequest | None, work: Callable[[PendingSignatures], Answer]
    ) -> Answer:
        """Run ``work`` in one transaction with its idempotency record, unless the key already has an
        answer (a concurrent retry may have written it while this one was judged). The answer is
        returned only after COMMIT, so whatever a client is told was stored is on disk (DuckDB's WAL)
        before the response leaves; a SIGKILL before that loses the request whole, and the client's
        retry with the same key runs it again."""
        submissions = self.workspace.submissions
        with self.lock:
            if idempotency is not None:
                previous = previous_answer(submissions, key.id, idempotency)
                if previous is not None:
                    return previous
            pending = PendingSignatures()
            with self.workspace.transaction():
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
        record_results(self.workspace, [(verdict.revision.id, verdict.revision.kind.value, verdict.judgement.results)])
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
            return write_backup(self.workspace, folder)

    def verify(self) -> StoreCheck:
        """Re-hash every snapshot and revision; submissions wait meanwhile (seconds per 100k revisions)."""
        with self.lock:
            return verify_store(self.workspace)

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

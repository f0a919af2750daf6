"""What the HTTP layer calls: one object that owns the store while the service runs.

DuckDB allows one writing process, so the service holds the store for its lifetime (a CLI writer
meanwhile gets an error naming this process) and serialises access with a lock: requests run in a
thread pool. Submissions are validated with the kind's full profile and checked for duplicates
against the whole corpus at once, with a MinHash index kept in memory (loaded from the one
``triforge dedup run`` persists, topped up with anything imported since).

Acknowledged means durable: a submission (or a whole batch) is one transaction together with its
``Idempotency-Key`` record, and the answer is built only after it commits, so a client told 201 can
rely on the row surviving a SIGKILL, and a client told nothing can retry with the same key.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from curation.backup import BackupManifest, write_backup
from curation.dedup.index import MinHashIndex
from curation.dedup.minhash import MinHasher, MinHashParams
from curation.dedup.normalize import NormalizeOptions, conversation_text
from curation.dedup.run import CorpusTexts, DedupConfig, index_dir
from curation.importers.service import PendingRevision, write_revisions
from curation.integrity import StoreCheck, verify_store
from curation.store import Store, StoreError
from curation.validators.profiles import profile_for
from curation.validators.runner import record_results, run_profile
from labeling.api.idempotency import Answer, IdempotentRequest, previous_answer, remember
from labeling.api.keys import ApiKey
from labeling.api.models import BatchLine, BatchOut, DuplicateOf, SubmissionIn, SubmissionOut
from schemas.sample import Message, Provenance, Role, SampleRevision, SourceType
from schemas.validation import ValidationResult

# A batch line: its parsed submission, or the errors that kept it out (by line number).
BatchItem = tuple[int, SubmissionIn | list[dict[str, Any]]]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class _Planned:
    """One submission checked and ready to write."""

    revision: SampleRevision
    results: list[ValidationResult]
    valid: bool
    duplicate: DuplicateOf | None
    existed: bool


@dataclass
class _Pending:
    """Signatures of revisions written in the open transaction: later lines of a batch compare
    against them, and they join the in-memory index only once the transaction commits."""

    ids: list[str] = field(default_factory=list)
    signatures: list[np.ndarray] = field(default_factory=list)

    def add(self, revision_id: str, signature: np.ndarray) -> None:
        self.ids.append(revision_id)
        self.signatures.append(signature)

    def neighbours(self, signature: np.ndarray, threshold: float) -> list[tuple[str, float]]:
        out = []
        for revision_id, other in zip(self.ids, self.signatures, strict=True):
            similarity = float(np.count_nonzero(other == signature)) / len(signature)
            if similarity >= threshold:
                out.append((revision_id, similarity))
        return out

    def publish(self, index: MinHashIndex) -> None:
        if self.ids:
            index.add(self.ids, np.vstack(self.signatures))


class SubmissionService:
    def __init__(self, store_path: Path) -> None:
        self.store = Store(store_path)
        self.lock = threading.RLock()
        self.params = MinHashParams()
        self.hasher = MinHasher(self.params)
        config = DedupConfig(methods=("minhash",))
        self.index = MinHashIndex.load(index_dir(self.store, "minhash", config.params_key("minhash")), self.params)
        ids = [r[0] for r in self.store.con.execute("SELECT id FROM revisions").fetchall()]
        missing = [i for i in ids if i not in self.index]
        if missing:
            self.index.add(missing, self.hasher.signatures(CorpusTexts(self.store, config).texts(missing)))

    def close(self) -> None:
        self.store.close()

    # --- submissions ------------------------------------------------------------------------------

    def submit(self, key: ApiKey, payload: SubmissionIn, idempotency: IdempotentRequest | None = None) -> Answer:
        """Validate, dedup-check and store one submission: 201 when its content is new, 200 when
        identical content was already there (the body says what it duplicates)."""

        def work(pending: _Pending) -> Answer:
            planned = self._plan(key, payload, pending)
            out = self._write(key, planned)
            return Answer(200 if planned.existed else 201, out.model_dump(mode="json"), f"/v1/submissions/{out.id}")

        return self._once(key, idempotency, work)

    def submit_batch(self, key: ApiKey, lines: list[BatchItem], idempotency: IdempotentRequest | None = None) -> Answer:
        """Store every line that fits and report each by line number. The batch is one transaction:
        its 200 means every accepted line is stored, and a crash before then stores none of them (the
        price: other requests wait for the whole batch, up to ``max_batch`` validations)."""

        def work(pending: _Pending) -> Answer:
            results: list[BatchLine] = []
            for n, item in lines:
                if isinstance(item, SubmissionIn):
                    results.append(BatchLine(line=n, submission=self._write(key, self._plan(key, item, pending))))
                else:
                    results.append(BatchLine(line=n, errors=item))
            accepted = sum(r.submission is not None for r in results)
            out = BatchOut(accepted=accepted, rejected=len(results) - accepted, results=results)
            return Answer(200, out.model_dump(mode="json"))

        return self._once(key, idempotency, work)

    def _once(self, key: ApiKey, idempotency: IdempotentRequest | None, work: Callable[[_Pending], Answer]) -> Answer:
        """Run ``work`` in one transaction with its idempotency record, unless the key already has an
        answer. The answer is returned only after COMMIT, so whatever a client is told was stored is
        on disk (DuckDB's WAL) before the response leaves; a SIGKILL before that loses the request
        whole, and the client's retry with the same key runs it again."""
        with self.lock:
            if idempotency is not None:
                previous = previous_answer(self.store, key.id, idempotency)
                if previous is not None:
                    return previous
            pending = _Pending()
            with self.store.transaction():
                answer = work(pending)
                if idempotency is not None:
                    remember(self.store, key.id, idempotency, answer)
            # Committed: only now do later submissions compare against these (a rollback adds nothing).
            pending.publish(self.index)
            return answer

    def _plan(self, key: ApiKey, payload: SubmissionIn, pending: _Pending) -> _Planned:
        """Build the revision, validate it (Asar included) and check it for duplicates against the
        corpus and against earlier lines of the same batch, which are not in the index yet."""
        revision = SampleRevision(
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
        existed = self.store.con.execute("SELECT 1 FROM revisions WHERE id = ?", [revision.id]).fetchone() is not None
        results = run_profile(revision, self.store)
        required = set(profile_for(revision.kind).required)
        valid = all(r.passed for r in results if r.validator in required)
        if existed:
            return _Planned(revision, results, valid, DuplicateOf(id=revision.id, similarity=1.0), existed)
        signature = self.hasher.signatures([conversation_text(revision, NormalizeOptions())])[0]
        duplicate = self._duplicate(revision, signature, pending)
        pending.add(revision.id, signature)
        return _Planned(revision, results, valid, duplicate, existed)

    def _write(self, key: ApiKey, planned: _Planned) -> SubmissionOut:
        """Write one submission inside the caller's transaction and read back its report."""
        revision, duplicate = planned.revision, planned.duplicate
        status = "proposed" if planned.valid and duplicate is None else "draft"
        submission_id = uuid.uuid4().hex
        if not planned.existed:
            write_revisions(
                self.store,
                [PendingRevision(revision, status, 0)],
                import_id=f"submission:{submission_id}",
                actor=f"community:{key.name}",
            )
        self.store.con.execute(
            "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                submission_id,
                key.id,
                key.name,
                revision.id,
                planned.valid,
                duplicate.id if duplicate else None,
                duplicate.similarity if duplicate else None,
                json.dumps([r.model_dump(exclude_none=True) for r in planned.results]),
                _now(),
            ],
        )
        record_results(self.store, [(revision.id, revision.kind.value, planned.results)])
        return self.get(submission_id)

    def _duplicate(self, revision: SampleRevision, signature: np.ndarray, pending: _Pending) -> DuplicateOf | None:
        threshold = self.params.threshold
        found = [(k, s) for k, s in self.index.neighbours(signature, threshold) if k != revision.id]
        found += [(k, s) for k, s in pending.neighbours(signature, threshold) if k != revision.id]
        if not found:
            return None
        best = max(found, key=lambda f: (f[1], f[0]))
        return DuplicateOf(id=best[0], similarity=round(best[1], 4))

    def get(self, submission_id: str) -> SubmissionOut:
        with self.lock:
            row = self.store.con.execute(
                "SELECT s.id, s.revision_id, s.valid, s.duplicate_of, s.similarity, s.report, s.created_at, "
                "x.status, x.duplicate_of FROM submissions s JOIN samples x ON x.id = s.revision_id WHERE s.id = ?",
                [submission_id],
            ).fetchone()
        if not row:
            raise StoreError(f"no submission {submission_id}")
        sid, rid, valid, dup, sim, report, created, sample_status, later_dup = row
        duplicate = (
            DuplicateOf(id=dup, similarity=sim)
            if dup
            else (DuplicateOf(id=later_dup, similarity=0.0) if later_dup else None)
        )
        if sample_status in ("approved", "rejected", "in_review"):
            status = sample_status
        elif duplicate is not None:
            status = "duplicate"
        else:
            status = "validated" if valid else "invalid"
        return SubmissionOut(
            id=sid,
            sample_id=rid,
            status=status,
            valid=valid,
            duplicate_of=duplicate,
            validation=[ValidationResult(**r) for r in json.loads(report)],
            created_at=created,
        )

    def owner(self, submission_id: str) -> str | None:
        with self.lock:
            row = self.store.con.execute("SELECT key_id FROM submissions WHERE id = ?", [submission_id]).fetchone()
        return row[0] if row else None

    def contributor(self, key: ApiKey, recent: int = 20) -> dict:
        with self.lock:
            ids = [
                r[0]
                for r in self.store.con.execute(
                    "SELECT id FROM submissions WHERE key_id = ? ORDER BY created_at DESC", [key.id]
                ).fetchall()
            ]
        subs = [self.get(i) for i in ids]
        approved = sum(s.status == "approved" for s in subs)
        return {
            "name": key.name,
            "role": key.role,
            "submissions": len(subs),
            "valid": sum(s.valid for s in subs),
            "duplicates": sum(s.status == "duplicate" for s in subs),
            "approved": approved,
            "rejected": sum(s.status == "rejected" for s in subs),
            "acceptance_rate": round(approved / len(subs), 4) if subs else None,
            "recent": subs[:recent],
        }

    # --- operations -------------------------------------------------------------------------------

    def backup(self, folder: Path) -> BackupManifest:
        """A consistent copy of the store, made under the lock: no request writes while it is taken."""
        with self.lock:
            return write_backup(self.store, folder)

    def verify(self) -> StoreCheck:
        """Re-hash every snapshot and revision; submissions wait meanwhile (seconds per 100k revisions)."""
        with self.lock:
            return verify_store(self.store)

    # --- curator writes -----------------------------------------------------------------------------

    def mark(self, ids: list[str], status: str, *, actor: str, reason: str | None) -> list[str]:
        """Record a status decision on samples (all or none); returns their full ids."""
        from curation.samples import set_status

        with self.lock:
            return set_status(self.store, ids, status, actor=actor, reason=reason)

    def correct(self, sample_id: str, *, actor: str, answer: str | None, category: str | None) -> tuple[str, str]:
        """Write an expert's correction; returns (new revision id, full parent id). The new revision
        joins the in-memory MinHash index, so a later submission of the same text is a duplicate."""
        from curation.samples import correct_sample, get_sample, resolve_id

        with self.lock:
            parent_id = resolve_id(self.store, sample_id)
            new_id = correct_sample(self.store, parent_id, actor=actor, answer=answer, category=category)
            if new_id not in self.index:
                text = conversation_text(get_sample(self.store, new_id).revision, NormalizeOptions())
                self.index.add([new_id], self.hasher.signatures([text]))
            return new_id, parent_id

"""What the HTTP layer calls: one object that owns the store while the service runs.

DuckDB allows one writing process, so the service holds the store for its lifetime (a CLI writer
meanwhile gets an error naming this process) and serialises access with a lock: requests run in a
thread pool. Submissions are validated with the kind's full profile and checked for duplicates
against the whole corpus at once, with a MinHash index kept in memory (loaded from the one
``triforge dedup run`` persists, topped up with anything imported since).
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from curation.dedup.index import MinHashIndex
from curation.dedup.minhash import MinHasher, MinHashParams
from curation.dedup.normalize import NormalizeOptions, conversation_text
from curation.dedup.run import CorpusTexts, DedupConfig, index_dir
from curation.importers.service import PendingRevision, write_revisions
from curation.store import Store, StoreError
from curation.validators.profiles import profile_for
from curation.validators.runner import record_results, run_profile
from labeling.api.keys import ApiKey
from labeling.api.models import DuplicateOf, SubmissionIn, SubmissionOut
from schemas.sample import Message, Provenance, Role, SampleRevision, SourceType
from schemas.validation import ValidationResult


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class SubmissionService:
    def __init__(self, store_path: Path) -> None:
        self.store = Store(store_path)
        self.lock = threading.RLock()
        self.params = MinHashParams()
        self.hasher = MinHasher(self.params)
        config = DedupConfig(methods=("minhash",))
        self.index = MinHashIndex.load(index_dir("minhash", config.params_key("minhash")), self.params)
        ids = [r[0] for r in self.store.con.execute("SELECT id FROM revisions").fetchall()]
        missing = [i for i in ids if i not in self.index]
        if missing:
            self.index.add(missing, self.hasher.signatures(CorpusTexts(self.store, config).texts(missing)))

    def close(self) -> None:
        self.store.close()

    # --- submissions ------------------------------------------------------------------------------

    def submit(self, key: ApiKey, payload: SubmissionIn) -> tuple[SubmissionOut, bool]:
        """Validate, dedup-check and store one submission; returns (result, newly stored)."""
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
        with self.lock:
            existed = (
                self.store.con.execute("SELECT 1 FROM revisions WHERE id = ?", [revision.id]).fetchone() is not None
            )
            results = run_profile(revision, self.store)
            required = set(profile_for(revision.kind).required)
            valid = all(r.passed for r in results if r.validator in required)
            duplicate = self._duplicate(revision, existed)
            status = "proposed" if valid and duplicate is None else "draft"
            submission_id = uuid.uuid4().hex
            with self.store.transaction():
                if not existed:
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
                        valid,
                        duplicate.id if duplicate else None,
                        duplicate.similarity if duplicate else None,
                        json.dumps([r.model_dump(exclude_none=True) for r in results]),
                        _now(),
                    ],
                )
            record_results(self.store, [(revision.id, revision.kind.value, results)])
            if not existed:
                text = conversation_text(revision, NormalizeOptions())
                self.index.add([revision.id], self.hasher.signatures([text]))
            return self.get(submission_id), not existed

    def _duplicate(self, revision: SampleRevision, existed: bool) -> DuplicateOf | None:
        if existed:
            return DuplicateOf(id=revision.id, similarity=1.0)
        signature = self.hasher.signatures([conversation_text(revision, NormalizeOptions())])[0]
        found = [(k, s) for k, s in self.index.neighbours(signature, self.params.threshold) if k != revision.id]
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

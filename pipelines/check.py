"""The check step: validate with the kind's profile, then look for duplicates against the index.

This is the one judgement every way into the store goes through - a template proposal, a teacher's
or a bootstrapped model's reply, a community submission and an expert's correction - so a sample
is never "valid" by one front end's rules and "invalid" by another's.

Two shapes of the same rules:

* :class:`Check` judges a batch already written (``generate``, ``propose``, the loop, ``demo``):
  it validates what matches a filter (results cached by content), then runs an incremental exact +
  MinHash dedup through the persisted indexes, and counts the verdicts over the batch.
* :class:`OnlineCheck` judges one revision before it is written (the submission service, review
  corrections): the profile's :func:`~curation.validators.runner.judge`, and a MinHash lookup
  against the workspace's index held in memory plus whatever the open transaction added.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from curation.dedup.index import MinHashIndex
from curation.dedup.minhash import MinHasher, MinHashParams, estimated_jaccard
from curation.dedup.normalize import NormalizeOptions, conversation_text
from curation.dedup.run import CorpusTexts, DedupConfig, DedupRun, index_dir, run_dedup
from curation.validators.base import ValidationContext, Validator
from curation.validators.runner import Judgement, ValidationRun, judge, validate_samples
from curation.workspace import Workspace
from pipelines.base import PipelineStep, Progress
from schemas.sample import SampleRevision

BATCH_METHODS = ("exact", "minhash")


@dataclass(frozen=True)
class CheckSummary:
    """How a batch fared: passed validation, failed it, duplicates (near or exact) and exact ones;
    with the validation and dedup runs themselves for a caller that reports them in full."""

    valid: int
    rejected_by_validators: int
    duplicates: int
    exact_duplicates: int
    validation: ValidationRun
    dedup: DedupRun


class Check(PipelineStep):
    """Validate a written batch and dedup-check it against the whole corpus."""

    name = "check"

    def run(
        self, ids: Sequence[str] | None = None, where: str | None = None, *, progress: Progress | None = None
    ) -> CheckSummary:
        """``where`` selects what to validate (e.g. the proposer's ``source_name``; everything when
        None); ``ids`` are the batch the summary counts (everything when None). Dedup always compares
        against everything stored, incrementally."""
        ws = self.workspace
        on_progress = (lambda done, total: progress("validate", done, total)) if progress else None
        validation = validate_samples(ws, where, on_progress=on_progress)
        config = DedupConfig(methods=BATCH_METHODS)
        dedup = run_dedup(ws, config=config)
        if ids is None:
            ids = ws.samples.all_ids()
        counts = ws.samples.verdicts(ids)
        return CheckSummary(
            valid=counts.valid,
            rejected_by_validators=counts.failed,
            duplicates=counts.duplicates,
            exact_duplicates=ws.dedup_runs.exact_duplicates(ids, config.options_key),
            validation=validation,
            dedup=dedup,
        )


@dataclass(frozen=True)
class Duplicate:
    """The closest stored (or pending) revision and its estimated Jaccard similarity."""

    id: str
    similarity: float


@dataclass(frozen=True)
class Verdict:
    """One revision judged before it is written."""

    revision: SampleRevision
    judgement: Judgement
    duplicate: Duplicate | None
    existed: bool  # the exact revision is already stored (then ``duplicate`` names it, similarity 1)

    @property
    def valid(self) -> bool:
        return self.judgement.passed


@dataclass
class PendingSignatures:
    """Signatures of revisions judged in the open transaction: later ones of a batch compare against
    them, and they join the in-memory index only once the transaction commits (:meth:`OnlineCheck.publish`)."""

    ids: list[str] = field(default_factory=list)
    signatures: list[np.ndarray] = field(default_factory=list)

    def add(self, revision_id: str, signature: np.ndarray) -> None:
        self.ids.append(revision_id)
        self.signatures.append(signature)

    def neighbours(self, signature: np.ndarray, threshold: float) -> list[tuple[str, float]]:
        pairs = zip(self.ids, self.signatures, strict=True)
        found = [(rid, estimated_jaccard(other, signature)) for rid, other in pairs]
        return [(rid, similarity) for rid, similarity in found if similarity >= threshold]


class OnlineCheck(PipelineStep):
    """Judge single revisions against the corpus at once, with the MinHash index in memory.

    The index is the one ``triforge dedup run`` persists under the workspace, topped up with every
    revision stored since, so the first request does not wait for a full dedup run.
    """

    name = "check-online"

    def __init__(
        self,
        workspace: Workspace,
        params: MinHashParams | None = None,
        *,
        substitutes: Mapping[str, Validator] | None = None,
    ) -> None:
        """``substitutes``: validators configured for this caller (the service's assembler for untrusted
        code), by name; see :func:`~curation.validators.runner.run_profile`."""
        super().__init__(workspace)
        self.substitutes = dict(substitutes or {})
        self.context = ValidationContext.of_home(workspace.home)  # the ROM map, read once per service start
        self.params = params or MinHashParams()
        self.hasher = MinHasher(self.params)
        config = DedupConfig(methods=("minhash",))
        self.index = MinHashIndex.load(index_dir(workspace, "minhash", config.params_key("minhash")), self.params)
        missing = [i for i in workspace.samples.all_ids() if i not in self.index]
        if missing:
            self.index.add(missing, self.hasher.signatures(CorpusTexts(workspace, config).texts(missing)))

    def run(self, revision: SampleRevision, pending: PendingSignatures | None = None) -> Verdict:
        """Validate ``revision`` (Asar included) and find its closest duplicate, writing nothing."""
        return self.place(revision, self.assess(revision), pending)

    def assess(self, revision: SampleRevision) -> Judgement:
        """Validate ``revision`` by its kind's profile. Reads no store, so the service runs it in
        worker threads, outside the lock that serialises the store: a slow snippet delays no one else."""
        return judge(revision, substitutes=self.substitutes, context=self.context)

    def place(
        self, revision: SampleRevision, judgement: Judgement, pending: PendingSignatures | None = None
    ) -> Verdict:
        """The verdict for a judged revision: whether it is stored already, else its closest duplicate
        among the stored, the indexed and the ``pending`` ones. Reads the store: hold its lock."""
        if self.workspace.samples.exists(revision.id):
            return Verdict(revision, judgement, Duplicate(revision.id, 1.0), existed=True)
        signature = self.signature(revision)
        duplicate = self._closest(revision.id, signature, pending)
        if pending is not None:
            pending.add(revision.id, signature)
        return Verdict(revision, judgement, duplicate, existed=False)

    def signature(self, revision: SampleRevision) -> np.ndarray:
        return self.hasher.signatures([conversation_text(revision, NormalizeOptions())])[0]

    def remember(self, revision: SampleRevision) -> None:
        """Add a revision written outside a batch (an expert's correction) to the in-memory index."""
        if revision.id not in self.index:
            self.index.add([revision.id], self.signature(revision)[None, :])

    def publish(self, pending: PendingSignatures) -> None:
        """The transaction committed: its revisions become part of what later requests compare to."""
        if pending.ids:
            self.index.add(pending.ids, np.vstack(pending.signatures))

    def _closest(self, revision_id: str, signature: np.ndarray, pending: PendingSignatures | None) -> Duplicate | None:
        threshold = self.params.threshold
        found = [(k, s) for k, s in self.index.neighbours(signature, threshold) if k != revision_id]
        if pending is not None:
            found += [(k, s) for k, s in pending.neighbours(signature, threshold) if k != revision_id]
        if not found:
            return None
        best = max(found, key=lambda f: (f[1], f[0]))
        return Duplicate(best[0], round(best[1], 4))


__all__ = ["Check", "CheckSummary", "Duplicate", "OnlineCheck", "PendingSignatures", "Verdict"]

"""``triforge generate``: propose, store, validate and dedup-check in one step.

Proposals land as revisions with ``template`` provenance (generator@version, seed, index), are
validated with their kind's profile and dedup-checked (exact + MinHash, incrementally) against the
whole corpus, so the summary says at once how many are worth an expert's time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from curation.dedup.run import DedupConfig, run_dedup
from curation.importers.service import PendingRevision, write_revisions
from curation.store import Store
from curation.validators.runner import validate_samples
from generators.base import get_generator


@dataclass
class GenerateSummary:
    generator: str
    seed: int
    made: int
    new: int
    valid: int
    rejected_by_validators: int
    duplicates: int  # near or exact duplicates of another sample (template siblings count)
    exact_duplicates: int
    ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "ids"}


def run_generator(
    store: Store, name: str, n: int, seed: int, *, progress: Callable[[str, int, int], None] | None = None
) -> GenerateSummary:
    generator = get_generator(name)
    revisions = generator.generate(n, seed)
    source = f"{generator.name}@{generator.version}"
    if progress:
        progress("store", 0, len(revisions))
    with store.transaction():
        new = write_revisions(
            store,
            [PendingRevision(r, "proposed", i) for i, r in enumerate(revisions, 1)],
            import_id=f"generate:{source}:{seed}",
            actor=f"generator:{source}",
        )
    ids = [r.id for r in revisions]
    checked = check_proposals(store, ids, source, progress=progress)
    return GenerateSummary(
        generator=source,
        seed=seed,
        made=len(revisions),
        new=new,
        valid=checked.valid,
        rejected_by_validators=checked.rejected_by_validators,
        duplicates=checked.duplicates,
        exact_duplicates=checked.exact_duplicates,
        ids=ids,
    )


@dataclass
class ProposalChecks:
    valid: int
    rejected_by_validators: int
    duplicates: int
    exact_duplicates: int


def check_proposals(
    store: Store, ids: list[str], source_name: str, *, progress: Callable[[str, int, int], None] | None = None
) -> ProposalChecks:
    """Validate a proposer's revisions and dedup-check them against the whole corpus (shared by every
    proposer, so a template, a teacher and a bootstrapped model are judged the same way)."""
    validate_samples(
        store,
        f"source_name = {json.dumps(source_name)}",
        on_progress=(lambda done, total: progress("validate", done, total)) if progress else None,
    )
    run_dedup(store, config=DedupConfig(methods=("exact", "minhash")))
    rows = store.con.execute(
        "SELECT validation, duplicate_of FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[]))", [ids]
    ).fetchall()
    exact = store.con.execute(
        "SELECT count(*) FROM dedup_fingerprints f WHERE f.revision_id IN (SELECT unnest(?::VARCHAR[])) "
        "AND f.options_key = ? AND EXISTS (SELECT 1 FROM dedup_fingerprints g WHERE g.exact_hash = f.exact_hash "
        "AND g.options_key = f.options_key AND g.revision_id <> f.revision_id)",
        [ids, DedupConfig().options_key],
    ).fetchone()[0]
    return ProposalChecks(
        valid=sum(v == "passed" for v, _ in rows),
        rejected_by_validators=sum(v == "failed" for v, _ in rows),
        duplicates=sum(d is not None for _, d in rows),
        exact_duplicates=exact,
    )

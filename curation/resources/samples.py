"""``workspace.samples``: find, list, count, mark and correct samples (the ``samples`` view)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from curation import samples as _samples
from curation.resources import Resource
from curation.samples import SampleDetail


@dataclass(frozen=True)
class VerdictCounts:
    """How a set of revisions fared: validated, failed, or a near/exact duplicate of another."""

    valid: int
    failed: int
    duplicates: int


class Samples(Resource):
    def resolve(self, id_or_prefix: str) -> str:
        return _samples.resolve_id(self.store, id_or_prefix)

    def get(self, id_or_prefix: str) -> SampleDetail:
        return _samples.get_sample(self.store, id_or_prefix)

    def exists(self, revision_id: str) -> bool:
        return self.store.con.execute("SELECT 1 FROM revisions WHERE id = ?", [revision_id]).fetchone() is not None

    def all_ids(self) -> list[str]:
        return [r[0] for r in self.store.con.execute("SELECT id FROM revisions ORDER BY id").fetchall()]

    def count(self, where: str | None = None) -> int:
        return _samples.count_samples(self.store, where)

    def list(self, where: str | None = None, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        return _samples.list_samples(self.store, where, limit=limit, offset=offset)

    def set_status(self, ids: list[str], status: str, *, actor: str, reason: str | None = None) -> list[str]:
        return _samples.set_status(self.store, ids, status, actor=actor, reason=reason)

    def correct(self, id_or_prefix: str, *, actor: str, answer: str | None, category: str | None) -> str:
        return _samples.correct_sample(self.store, id_or_prefix, actor=actor, answer=answer, category=category)

    def verdicts(self, ids: Sequence[str]) -> VerdictCounts:
        """Counts over ``ids`` from the view: passed validation, failed it, marked a duplicate."""
        rows = self.store.con.execute(
            "SELECT validation, duplicate_of FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)]
        ).fetchall()
        return VerdictCounts(
            valid=sum(v == "passed" for v, _ in rows),
            failed=sum(v == "failed" for v, _ in rows),
            duplicates=sum(d is not None for _, d in rows),
        )


__all__ = ["Samples", "VerdictCounts"]

"""``workspace.validations``: run the validator profiles and read their stored results."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from curation.resources import Resource
from curation.validators import runner
from schemas.sample import SampleRevision
from schemas.validation import ValidationResult


class Validations(Resource):
    def run(
        self,
        where: str | None = None,
        *,
        only: Sequence[str] | None = None,
        force: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> runner.ValidationRun:
        """Validate the samples matching ``where`` (results are cached by content)."""
        return runner.validate_samples(self.store, where, only=only, force=force, on_progress=on_progress)

    def judge(self, revision: SampleRevision) -> list[ValidationResult]:
        """Every validator of the revision's profile on one revision, nothing written."""
        return runner.run_profile(revision, self.store)

    def record(self, items: Sequence[tuple[str, str, list[ValidationResult]]]) -> None:
        """Store results judged outside :meth:`run`: (revision id, kind, results)."""
        runner.record_results(self.store, items)

    def forget(self, validators: Sequence[str]) -> int:
        """Drop the stored results of ``validators`` and the summaries they fed, so the next ``validate``
        judges again: what a verdict depended on besides the sample (the ROM map) has changed. The
        revisions involved read as ``pending`` until then. Returns how many results were dropped."""
        names = list(validators)
        chosen = "validator IN (SELECT unnest(?::VARCHAR[]))"
        with self.store.transaction() as con:
            affected = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT revision_id FROM validation_results WHERE {chosen}", [names]
                ).fetchall()
            ]
            dropped = con.execute(f"SELECT count(*) FROM validation_results WHERE {chosen}", [names]).fetchone()[0]
            con.execute(f"DELETE FROM validation_results WHERE {chosen}", [names])
            con.execute("DELETE FROM validation_summary WHERE revision_id IN (SELECT unnest(?::VARCHAR[]))", [affected])
        return dropped

    def results(self, revision_id: str) -> list[ValidationResult]:
        return runner.stored_results(self.store, revision_id)


__all__ = ["Validations"]

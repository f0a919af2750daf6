"""``workspace.validations``: the validators' stored verdicts.

It owns the tables the runner (``curation/validators/runner.py``) reads and writes - results per
(revision, validator, version), each revision's summary, and the assembler's cache - so their SQL
lives here and the runner stays about judging. It knows nothing of the validators themselves: which
version of a check is current is the runner's to say (``runner.current_results``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from curation.filters import compile_filter
from curation.resources import Resource
from schemas.validation import ValidationResult

RESULT_COLUMNS = ("revision_id", "validator", "version", "passed", "score", "issues", "details", "validated_at")
SUMMARY_COLUMNS = ("revision_id", "profile", "passed", "score", "failed", "validated_at")


class Validations(Resource):
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

    def results(self, revision_id: str, versions: Mapping[str, str]) -> list[ValidationResult]:
        """One revision's stored results of the validators in ``versions`` (name -> version), each at that
        version only: a result kept from an older version of a check is history, not a verdict."""
        rows = self.store.con.execute(
            "SELECT validator, version, passed, score, issues, details FROM validation_results "
            "WHERE revision_id = ? ORDER BY validator",
            [revision_id],
        ).fetchall()
        return [
            ValidationResult(validator=v, version=ver, passed=p, score=s, issues=json.loads(i), details=json.loads(d))
            for v, ver, p, s, i, d in rows
            if versions.get(v) == ver
        ]

    # -- the tables behind a run (curation/validators/runner.py) --------------------------------------------

    def judged(self, where: str | None = None) -> set[tuple[str, str, int]]:
        """(revision, validator, version) of every stored result for the samples ``where`` selects."""
        flt = compile_filter(where)
        return set(
            self.store.con.execute(
                "SELECT revision_id, validator, version FROM validation_results "
                f"WHERE revision_id IN (SELECT id FROM samples WHERE {flt.sql})",
                flt.params,
            ).fetchall()
        )

    def add_results(self, rows: Sequence[Sequence[Any]]) -> None:
        """``validation_results`` rows (``RESULT_COLUMNS``); a newer result replaces an older one."""
        with self.store.transaction():
            self.store.insert_rows("validation_results", RESULT_COLUMNS, rows, on_conflict="OR REPLACE")

    def result_rows(self, ids: Sequence[str]) -> list[tuple[str, str, int, bool, float, str]]:
        """(revision, validator, version, passed, score, issues JSON) of every stored result of ``ids``."""
        return self.store.con.execute(
            "SELECT revision_id, validator, version, passed, score, issues FROM validation_results "
            "WHERE revision_id IN (SELECT unnest(?::VARCHAR[]))",
            [list(ids)],
        ).fetchall()

    def add_summaries(self, rows: Sequence[Sequence[Any]]) -> None:
        """``validation_summary`` rows (``SUMMARY_COLUMNS``), replacing each revision's previous one."""
        with self.store.transaction():
            self.store.insert_rows("validation_summary", SUMMARY_COLUMNS, rows, on_conflict="OR REPLACE")

    def failing(self, validator: str, version: str, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` whose stored result of ``validator`` at ``version`` failed."""
        rows = self.store.con.execute(
            "SELECT revision_id FROM validation_results WHERE validator = ? AND version = ? AND NOT passed "
            "AND revision_id IN (SELECT unnest(?::VARCHAR[]))",
            [validator, version, list(ids)],
        ).fetchall()
        return {r[0] for r in rows}

    def detail(self, validator: str, key: str, ids: Sequence[str]) -> dict[str, str | None]:
        """revision id -> the ``key`` field of ``validator``'s stored details (e.g. diagnosis_first's variant)."""
        return dict(
            self.store.con.execute(
                "SELECT revision_id, json_extract_string(details, '$.' || ?) FROM validation_results "
                "WHERE validator = ? AND revision_id IN (SELECT unnest(?::VARCHAR[]))",
                [key, validator, list(ids)],
            ).fetchall()
        )

    def cached_outcomes(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        """(key, outcome JSON) of the assembler runs cached under ``keys``."""
        return self.store.con.execute(
            "SELECT key, outcome FROM asm_cache WHERE key IN (SELECT unnest(?::VARCHAR[]))", [list(keys)]
        ).fetchall()

    def cache_outcomes(self, rows: Sequence[Sequence[Any]]) -> None:
        """(key, outcome JSON, created at) rows; an outcome already cached under a key is kept."""
        with self.store.transaction():
            self.store.insert_rows("asm_cache", ("key", "outcome", "created_at"), rows, on_conflict="OR IGNORE")


__all__ = ["RESULT_COLUMNS", "SUMMARY_COLUMNS", "Validations"]

"""``workspace.evals``: stored eval runs and their per-case results.

Runs are stored per case, which is what makes a comparison exact: :meth:`Evals.paired_cases` lines up
the same (suite, case) pairs of two runs, never averages of different case sets. Scoring and the
statistics stay in ``trainer.evaluation``; this resource only reads and writes the rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from curation.errors import Conflict, NotFound
from curation.resources import Resource
from schemas.training import CaseScore, EvalCase


class ScoredCase(Protocol):
    """What the store keeps of one scored case (``trainer.evaluation``'s ``CaseResult`` is one)."""

    case: EvalCase
    response: str
    scores: dict[str, CaseScore]
    metrics: dict[str, float | None]
    findings: dict[str, list[str]]
    contaminated: bool


class RecordableRun(Protocol):
    """What the store keeps of an eval run (``trainer.evaluation``'s ``EvalReport`` is one): declared here,
    so the store needs nothing from the layer above it."""

    id: str
    model: str
    training_run_id: str | None
    suite_file: str
    suite_sha256: str
    generation: dict[str, Any]
    created_at: datetime

    @property
    def results(self) -> Sequence[ScoredCase]: ...  # read-only here, so a list of CaseResult conforms

    def summary(self) -> dict[str, Any]: ...


CaseKey = tuple[str, str]
RESULT_COLUMNS = (
    "eval_run_id", "suite", "case_name", "category", "response", "substring_score", "substring_passed",
    "word_score", "word_passed", "detail", "metrics", "kind", "contaminated",
)  # fmt: skip


@dataclass(frozen=True)
class EvalRunSummary:
    """One stored run as ``triforge eval list`` shows it; ``overall`` is its summary's ``ALL`` entry."""

    id: str
    model: str
    training_run_id: str | None
    suite_file: str
    overall: dict[str, Any]
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"created_at": self.created_at.replace(tzinfo=UTC).isoformat()}


@dataclass(frozen=True)
class PairedCase:
    """One case both runs answered: its labels, and each run's metric values (None: not applicable)."""

    suite: str
    name: str
    category: str | None
    contaminated: bool
    a: dict[str, float | None]
    b: dict[str, float | None]


@dataclass(frozen=True)
class CaseMetrics:
    """One case of one run: its category, every metric's value, and whether it leaked into training."""

    category: str | None
    metrics: dict[str, Any]
    contaminated: bool


class Evals(Resource):
    def record(self, report: RecordableRun) -> None:
        """Store a run and its cases in one transaction (contamination flags are set by the caller)."""
        with self.store.transaction() as con:
            con.execute(
                "INSERT INTO eval_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    report.id,
                    report.model,
                    report.training_run_id,
                    report.suite_file,
                    report.suite_sha256,
                    json.dumps(report.generation),
                    json.dumps(report.summary()),
                    report.created_at,
                ],
            )
            self.store.insert_rows(
                "eval_results",
                RESULT_COLUMNS,
                [
                    [
                        report.id,
                        r.case.suite,
                        r.case.name,
                        r.case.category,
                        r.response,
                        r.scores["substring"].score,
                        r.scores["substring"].passed,
                        r.scores["word"].score,
                        r.scores["word"].passed,
                        json.dumps({rule: s.model_dump() for rule, s in r.scores.items()} | {"findings": r.findings}),
                        json.dumps(r.metrics),
                        r.case.kind,
                        r.contaminated,
                    ]
                    for r in report.results
                ],
            )

    def count(self) -> int:
        return self.store.con.execute("SELECT count(*) FROM eval_runs").fetchone()[0]

    def resolve(self, ref: str, *, model_names: Iterable[str] = ()) -> str:
        """An eval run id (or unique prefix); else the latest run of a model stored under any of ``model_names``
        (the caller knows how a model may have been named: as given, as a resolved path, by its alias)."""
        rows = self.store.con.execute(
            "SELECT id FROM eval_runs WHERE starts_with(id, ?) ORDER BY id LIMIT 2", [ref]
        ).fetchall()
        if len(rows) == 1:
            return rows[0][0]
        if len(rows) > 1:
            raise Conflict(f"eval run prefix {ref!r} is ambiguous")
        row = self.store.con.execute(
            "SELECT id FROM eval_runs WHERE model IN (SELECT unnest(?)) ORDER BY created_at DESC LIMIT 1",
            [sorted({ref, *model_names})],
        ).fetchone()
        if row is None:
            raise NotFound(f"no eval run {ref!r} (an eval run id, or a model that has been evaluated)")
        return row[0]

    def list(self) -> list[EvalRunSummary]:
        rows = self.store.con.execute(
            "SELECT id, model, training_run_id, suite_file, summary, created_at FROM eval_runs ORDER BY created_at"
        ).fetchall()
        return [EvalRunSummary(r[0], r[1], r[2], r[3], json.loads(r[4])["ALL"], r[5]) for r in rows]

    def models(self) -> list[str]:
        """The model of every run, oldest first."""
        return [r[0] for r in self.store.con.execute("SELECT model FROM eval_runs ORDER BY created_at").fetchall()]

    def paired_cases(self, a: str, b: str) -> list[PairedCase]:
        rows = self.store.con.execute(
            """
            SELECT x.suite, x.case_name, x.category,
                   coalesce(x.contaminated, false) OR coalesce(y.contaminated, false),
                   x.metrics, y.metrics, x.substring_score, y.substring_score, x.word_score, y.word_score,
                   x.word_passed, y.word_passed
            FROM eval_results x JOIN eval_results y USING (suite, case_name)
            WHERE x.eval_run_id = ? AND y.eval_run_id = ?
            ORDER BY x.suite, x.case_name
            """,
            [a, b],
        ).fetchall()

        def values(raw: str | None, substring: float, word: float, passed: bool) -> dict[str, float | None]:
            # Runs stored before the validator metrics existed still carry both keyword rules.
            stored = json.loads(raw) if raw else {}
            return {"keyword_substring": substring, "keyword_word": word, "keyword_pass": float(passed)} | stored

        return [
            PairedCase(r[0], r[1], r[2], bool(r[3]), values(r[4], r[6], r[8], r[10]), values(r[5], r[7], r[9], r[11]))
            for r in rows
        ]

    def case_metrics(self, eval_id: str) -> dict[CaseKey, CaseMetrics]:
        rows = self.store.con.execute(
            "SELECT suite, case_name, category, metrics, coalesce(contaminated, false) FROM eval_results "
            "WHERE eval_run_id = ?",
            [eval_id],
        ).fetchall()
        return {(r[0], r[1]): CaseMetrics(r[2], json.loads(r[3] or "{}"), bool(r[4])) for r in rows}


__all__ = ["CaseKey", "CaseMetrics", "EvalRunSummary", "Evals", "PairedCase"]

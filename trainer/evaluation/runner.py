"""Running a suite against a model (or scoring responses someone already has), storing and comparing runs.

Both rules score every response, so a table shows at a glance where the original substring rule
flattered a model. Runs are stored per case, which is what makes ``eval compare`` exact: it lines up
the same (suite, case) pairs, never averages of different case sets.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curation.store import Store, StoreError
from schemas.training import CaseScore, EvalCase
from trainer.evaluation.scoring import RULES

RULE_NAMES = tuple(RULES)


@dataclass
class CaseResult:
    case: EvalCase
    response: str
    scores: dict[str, CaseScore]


@dataclass
class EvalReport:
    id: str
    model: str
    suite_file: str
    suite_sha256: str
    generation: dict[str, Any]
    results: list[CaseResult] = field(default_factory=list)
    training_run_id: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))

    def summary(self) -> dict[str, Any]:
        """Per suite and overall: cases, mean score and passes under each rule."""
        groups: dict[str, list[CaseResult]] = {}
        for r in self.results:
            groups.setdefault(r.case.suite, []).append(r)
        groups_all = {**groups, "ALL": self.results}
        return {
            name: {"cases": len(rs)}
            | {
                rule: {
                    "mean_score": round(sum(r.scores[rule].score for r in rs) / len(rs), 4) if rs else 0.0,
                    "passed": sum(r.scores[rule].passed for r in rs),
                }
                for rule in RULE_NAMES
            }
            for name, rs in groups_all.items()
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "training_run_id": self.training_run_id,
            "suite_file": self.suite_file,
            "suite_sha256": self.suite_sha256,
            "generation": self.generation,
            "created_at": str(self.created_at)[:19],
            "summary": self.summary(),
            "cases": [
                {"suite": r.case.suite, "name": r.case.name, "category": r.case.category, "response": r.response}
                | {rule: r.scores[rule].model_dump() for rule in RULE_NAMES}
                for r in self.results
            ],
        }


def suite_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def score_responses(cases: list[EvalCase], responses: dict[tuple[str, str], str]) -> list[CaseResult]:
    return [
        CaseResult(
            case,
            responses[(case.suite, case.name)],
            {rule: fn(case, responses[(case.suite, case.name)]) for rule, fn in RULES.items()},
        )
        for case in cases
        if (case.suite, case.name) in responses
    ]


def read_responses(path: Path, cases: list[EvalCase]) -> dict[tuple[str, str], str]:
    """JSONL of ``{"name", "response"}`` (plus ``"suite"`` where case names repeat across suites)."""
    by_name: dict[str, list[EvalCase]] = {}
    for case in cases:
        by_name.setdefault(case.name, []).append(case)
    out: dict[tuple[str, str], str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            name, response = row["name"], row["response"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise StoreError(f"{path}:{number}: expected {{'name', 'response'}}: {exc}") from exc
        matches = [c for c in by_name.get(name, []) if row.get("suite") in (None, c.suite)]
        if len(matches) != 1:
            raise StoreError(f"{path}:{number}: case {name!r} matches {len(matches)} cases of the suite")
        if not isinstance(response, str):
            raise StoreError(f"{path}:{number}: response must be a string")
        out[(matches[0].suite, name)] = response
    return out


def generate_responses(
    chat: Callable[[list[dict[str, str]]], str],
    cases: list[EvalCase],
    *,
    on_case: Callable[[EvalCase], None] | None = None,
) -> dict[tuple[str, str], str]:
    out = {}
    for case in cases:
        out[(case.suite, case.name)] = chat([{"role": "user", "content": case.prompt}])
        if on_case:
            on_case(case)
    return out


def record_eval(store: Store, report: EvalReport) -> None:
    with store.transaction() as con:
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
        con.executemany(
            "INSERT INTO eval_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    json.dumps({rule: s.model_dump() for rule, s in r.scores.items()}),
                ]
                for r in report.results
            ],
        )


def new_eval_id() -> str:
    return uuid.uuid4().hex[:12]


def resolve_eval_run(store: Store, ref: str) -> str:
    """An eval run id (or unique prefix), or a model path/name: its latest run."""
    rows = store.con.execute("SELECT id FROM eval_runs WHERE id LIKE ? || '%'", [ref]).fetchall()
    if len(rows) == 1:
        return rows[0][0]
    if len(rows) > 1:
        raise StoreError(f"eval run prefix {ref!r} is ambiguous ({len(rows)} runs)")
    from trainer.base_models import ALIASES

    path = Path(ref).expanduser().resolve()
    # How a model may have been stored: as given, as a resolved adapter path, or by its base-model name.
    candidates = {ref, str(path), path.name, ALIASES.get(ref.lower(), ref)}
    row = store.con.execute(
        "SELECT id FROM eval_runs WHERE model IN (SELECT unnest(?)) ORDER BY created_at DESC LIMIT 1",
        [list(candidates)],
    ).fetchone()
    if row is None:
        raise StoreError(f"no eval run {ref!r} (an eval run id, or a model that has been evaluated)")
    return row[0]


def list_eval_runs(store: Store) -> list[dict[str, Any]]:
    rows = store.con.execute(
        "SELECT id, model, training_run_id, suite_file, summary, created_at FROM eval_runs ORDER BY created_at"
    ).fetchall()
    return [
        {
            "id": r[0],
            "model": r[1],
            "training_run_id": r[2],
            "suite_file": r[3],
            "overall": json.loads(r[4])["ALL"],
            "created_at": str(r[5])[:19],
        }
        for r in rows
    ]


def compare_eval_runs(store: Store, a_ref: str, b_ref: str) -> dict[str, Any]:
    """B minus A, per case both runs scored, per suite and overall, under both rules."""
    a, b = resolve_eval_run(store, a_ref), resolve_eval_run(store, b_ref)
    rows = store.con.execute(
        """
        SELECT x.suite, x.case_name, x.substring_score, y.substring_score, x.word_score, y.word_score,
               x.word_passed, y.word_passed
        FROM eval_results x JOIN eval_results y USING (suite, case_name)
        WHERE x.eval_run_id = ? AND y.eval_run_id = ?
        ORDER BY x.suite, x.case_name
        """,
        [a, b],
    ).fetchall()
    if not rows:
        raise StoreError(f"eval runs {a} and {b} share no cases")
    cases = [
        {
            "suite": r[0],
            "name": r[1],
            "substring": {"a": r[2], "b": r[3], "delta": round(r[3] - r[2], 4)},
            "word": {"a": r[4], "b": r[5], "delta": round(r[5] - r[4], 4)},
            "word_passed": {"a": r[6], "b": r[7]},
        }
        for r in rows
    ]
    suites: dict[str, dict[str, Any]] = {}
    for name in [*sorted({c["suite"] for c in cases}), "ALL"]:
        mine = [c for c in cases if name in ("ALL", c["suite"])]
        suites[name] = {"cases": len(mine)} | {
            rule: {
                "a": round(sum(c[rule]["a"] for c in mine) / len(mine), 4),
                "b": round(sum(c[rule]["b"] for c in mine) / len(mine), 4),
            }
            for rule in RULE_NAMES
        }
        for rule in RULE_NAMES:
            suites[name][rule]["delta"] = round(suites[name][rule]["b"] - suites[name][rule]["a"], 4)
        suites[name]["word_passed"] = {
            "a": sum(bool(c["word_passed"]["a"]) for c in mine),
            "b": sum(bool(c["word_passed"]["b"]) for c in mine),
        }
    return {"a": a, "b": b, "suites": suites, "cases": cases}


def select_cases(cases: list[EvalCase], *, only: list[str] | None = None, limit: int | None = None) -> list[EvalCase]:
    """Keep the named suites (all when ``only`` is empty) and at most ``limit`` cases of each, in file order."""
    chosen = [c for c in cases if not only or c.suite in only]
    if limit is None:
        return chosen
    taken: dict[str, int] = {}
    kept = []
    for case in chosen:
        taken[case.suite] = taken.get(case.suite, 0) + 1
        if taken[case.suite] <= limit:
            kept.append(case)
    return kept


def evaluate_model(
    model_ref: str | Path,
    suite_path: Path,
    cases: list[EvalCase],
    *,
    max_new_tokens: int = 256,
    on_loaded: Callable[[], None] | None = None,
    on_case: Callable[[EvalCase], None] | None = None,
) -> EvalReport:
    """Load a model or adapter, answer each case greedily, score under both rules (not yet stored)."""
    from trainer.generation import load_model

    loaded = load_model(model_ref)
    if on_loaded:
        on_loaded()
    report = EvalReport(
        new_eval_id(),
        str(loaded.adapter_dir) if loaded.adapter_dir else loaded.name,
        str(suite_path),
        suite_sha256(suite_path),
        {"max_new_tokens": max_new_tokens, "temperature": 0.0, "base_model": loaded.base_model},
        training_run_id=(loaded.manifest or {}).get("run_id"),
    )
    answers = generate_responses(
        lambda messages: loaded.chat(messages, max_new_tokens=max_new_tokens).text, cases, on_case=on_case
    )
    report.results = score_responses(cases, answers)
    return report

"""``workspace.teacher_requests``: the ledger of a teacher (or bootstrapped model) batch.

One row per task: what was asked, what came back (paid for), how often it was retried and what it
cost. Written as each reply arrives, so a killed batch resumes without paying for a reply twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from curation.clock import utc_now
from curation.resources import Resource


@dataclass(frozen=True)
class RequestRecord:
    """Where one task of a batch stands."""

    status: str = "answered"  # answered | stored | failed
    attempts: int = 0
    repaired: bool = False
    raw: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None
    revision_id: str | None = None
    cost: float = 0.0  # priced when each reply arrives, so a resume at other prices keeps what was paid


@dataclass(frozen=True)
class BatchTotals:
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class TeacherRequests(Resource):
    def load(self, batch_id: str) -> dict[int, RequestRecord]:
        """Every recorded task of a batch, by task index."""
        rows = self.store.con.execute(
            "SELECT task_index, status, attempts, repaired, raw_response, prompt_tokens, completion_tokens, error, "
            "revision_id, cost_usd FROM teacher_requests WHERE batch_id = ?",
            [batch_id],
        ).fetchall()
        return {r[0]: RequestRecord(*r[1:]) for r in rows}

    def save(
        self,
        batch_id: str,
        task_index: int,
        task: dict[str, Any],
        provider: str,
        model: str,
        record: RequestRecord,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        """Upsert one task's row; ``con`` joins a transaction the caller holds (a stored proposal and
        its ledger row land together)."""
        (con or self.store.con).execute(
            "INSERT OR REPLACE INTO teacher_requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id,
                task_index,
                json.dumps(task),
                provider,
                model,
                record.status,
                record.attempts,
                record.repaired,
                record.raw,
                record.prompt_tokens,
                record.completion_tokens,
                record.cost,
                record.error,
                record.revision_id,
                utc_now(),
            ],
        )

    def totals(self, batch_id: str) -> BatchTotals:
        """Tokens and cost of the whole batch, every run of it."""
        row = self.store.con.execute(
            "SELECT coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cost_usd), 0) "
            "FROM teacher_requests WHERE batch_id = ?",
            [batch_id],
        ).fetchone()
        return BatchTotals(int(row[0]), int(row[1]), round(float(row[2]), 6))


__all__ = ["BatchTotals", "RequestRecord", "TeacherRequests"]

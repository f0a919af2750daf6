"""``workspace.experiments``: the ledgers that make experiments and loop rounds resumable.

An experiment (``experiments`` + ``experiment_steps``) and a refinement-loop round (``loop_steps``) are
both a list of steps whose outcome is one row each: a finished step is never run again, one that
crashed or was killed is. This resource reads and writes those rows, and answers the few questions the
loop and the experiment report ask of the samples (how the round's proposals were decided, what an
arm's snapshot is made of); the flows themselves live in ``pipelines/``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from curation.clock import utc_now
from curation.resources import Resource

# Statuses that settle a proposal: a superseded one was corrected (its child decides).
DECIDED = ("approved", "rejected", "superseded")


@dataclass(frozen=True)
class StepRecord:
    """One step of a ledger: running | waiting | done | failed, its result data, the error if it failed."""

    step: str
    status: str
    data: dict[str, Any]
    error: str | None
    updated_at: datetime

    @property
    def done(self) -> bool:
        return self.status == "done"


@dataclass(frozen=True)
class LoopStepRecord(StepRecord):
    round: int = 0


@dataclass(frozen=True)
class Decisions:
    """How a round's proposals stand: status counts, and how many are still open (corrections included)."""

    counts: dict[str, int]
    open: int


@dataclass(frozen=True)
class ArmMember:
    """One member of an arm's snapshot, as the experiment report's lineage counts it."""

    kind: str
    category: str
    validation: str
    duplicate: bool
    source_type: str
    source_name: str = ""


class Experiments(Resource):
    # --- experiments ------------------------------------------------------------------------------

    def plan_json(self, name: str) -> str | None:
        """The stored plan of experiment ``name`` as JSON (``pipelines.experiment.plan`` validates it)."""
        row = self.store.con.execute("SELECT plan FROM experiments WHERE name = ?", [name]).fetchone()
        return row[0] if row else None

    def create(self, name: str, plan_json: str) -> None:
        with self.store.transaction() as con:
            con.execute("INSERT INTO experiments VALUES (?, ?, ?)", [name, plan_json, utc_now()])

    def steps(self, name: str) -> dict[str, StepRecord]:
        rows = self.store.con.execute(
            "SELECT step, status, data, error, updated_at FROM experiment_steps WHERE experiment = ?", [name]
        ).fetchall()
        return {r[0]: StepRecord(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows}

    def save_step(self, name: str, step: str, status: str, data: dict[str, Any], error: str | None = None) -> None:
        with self.store.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO experiment_steps VALUES (?, ?, ?, ?, ?, ?)",
                [name, step, status, json.dumps(data), error, utc_now()],
            )

    def arm_members(self, snapshot_id: str) -> list[ArmMember]:
        rows = self.store.con.execute(
            "SELECT s.kind, coalesce(s.category, '(none)'), s.validation, s.duplicate_of IS NOT NULL, r.source_type, "
            "r.source_name "
            "FROM snapshot_members m JOIN samples s ON s.id = m.revision_id JOIN revisions r ON r.id = s.id "
            "WHERE m.snapshot_id = ?",
            [snapshot_id],
        ).fetchall()
        return [ArmMember(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows]

    def arm_validator_results(self, snapshot_id: str) -> dict[tuple[str, str], tuple[int, int]]:
        """Per (kind, validator): (members it passed, members it judged), from each member's latest verdict -
        what an arm is made of in the terms curation enforces (a diluted arm shows its failing share)."""
        rows = self.store.con.execute(
            "SELECT kind, validator, count(*) FILTER (WHERE passed), count(*) FROM ("
            "  SELECT r.kind, v.validator, arg_max(v.passed, v.validated_at) AS passed FROM validation_results v "
            "  JOIN snapshot_members m ON m.revision_id = v.revision_id JOIN revisions r ON r.id = v.revision_id "
            "  WHERE m.snapshot_id = ? GROUP BY r.kind, v.revision_id, v.validator"
            ") GROUP BY kind, validator ORDER BY kind, validator",
            [snapshot_id],
        ).fetchall()
        return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}

    # --- refinement-loop rounds -------------------------------------------------------------------

    def loop_steps(self, round_no: int) -> dict[str, LoopStepRecord]:
        rows = self.store.con.execute(
            "SELECT step, status, data, error, updated_at FROM loop_steps WHERE round = ?", [round_no]
        ).fetchall()
        return {r[0]: LoopStepRecord(r[0], r[1], json.loads(r[2]), r[3], r[4], round_no) for r in rows}

    def save_loop_step(
        self, round_no: int, step: str, status: str, data: dict[str, Any], error: str | None = None
    ) -> None:
        with self.store.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO loop_steps VALUES (?, ?, ?, ?, ?, ?)",
                [round_no, step, status, json.dumps(data), error, utc_now()],
            )

    def current_loop_round(self) -> int:
        """The lowest round with an unfinished step, else a new one."""
        con = self.store.con
        last = con.execute("SELECT max(round) FROM loop_steps").fetchone()[0]
        if last is None:
            return 1
        done = con.execute(
            "SELECT count(*) FROM loop_steps WHERE round = ? AND step = 'report' AND status = 'done'", [last]
        ).fetchone()[0]
        return last + 1 if done else last

    def previous_loop_step(self, round_no: int, step: str) -> dict[str, Any] | None:
        """The data of ``step`` in the latest earlier round that finished it."""
        row = self.store.con.execute(
            "SELECT data FROM loop_steps WHERE round < ? AND step = ? AND status = 'done' ORDER BY round DESC LIMIT 1",
            [round_no, step],
        ).fetchone()
        return json.loads(row[0]) if row else None

    def loop_history(self) -> list[LoopStepRecord]:
        rows = self.store.con.execute(
            "SELECT round, step, status, data, error, updated_at FROM loop_steps ORDER BY round, updated_at"
        ).fetchall()
        return [LoopStepRecord(r[1], r[2], json.loads(r[3]), r[4], r[5], r[0]) for r in rows]

    def decisions(self, ids: Sequence[str]) -> Decisions:
        """How many proposals are still open, and the status counts. A proposal an expert corrected is decided
        only once its correction is (approved or rejected), so the correction can make the snapshot."""
        con = self.store.con
        counts = dict(
            con.execute(
                "SELECT status, count(*) FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1", [list(ids)]
            ).fetchall()
        )
        open_corrections = con.execute(
            "SELECT count(*) FROM samples c JOIN samples p ON c.parent_id = p.id "
            "WHERE p.id IN (SELECT unnest(?::VARCHAR[])) AND p.status = 'superseded' "
            "AND c.status NOT IN ('approved', 'rejected', 'superseded')",
            [list(ids)],
        ).fetchone()[0]
        still_open = sum(v for k, v in counts.items() if k not in DECIDED) + open_corrections
        return Decisions(counts, still_open)

    def with_status(self, ids: Sequence[str], status: str) -> list[str]:
        """Those of ``ids`` whose status is ``status`` now."""
        rows = self.store.con.execute(
            "SELECT id FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[])) AND status = ? ORDER BY id",
            [list(ids), status],
        ).fetchall()
        return [r[0] for r in rows]

    def approved_children(self, ids: Sequence[str]) -> int:
        """How many approved corrections have one of ``ids`` as parent."""
        return self.store.con.execute(
            "SELECT count(*) FROM samples WHERE parent_id IN (SELECT unnest(?::VARCHAR[])) AND status = 'approved'",
            [list(ids)],
        ).fetchone()[0]


__all__ = ["ArmMember", "Decisions", "Experiments", "LoopStepRecord", "StepRecord"]

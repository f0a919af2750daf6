"""``triforge loop``: one Strategy-4 round as one resumable command.

propose -> review -> snapshot -> train -> eval -> report. The current adapter (the last round's, or
the base model in round 1) answers bug-injection questions; its proposals are validated, dedup-checked
and put in review; once experts have decided them (``--no-wait`` stops there, and the next ``loop``
picks up), every approved, valid, non-duplicate sample is frozen, trained on, evaluated, and the round
reports what changed. Each step's outcome is a row in ``loop_steps``; a step that crashed or was
killed is run again, a finished one never is (and the proposal step itself resumes from its ledger).

Review goes through Argilla when the local stack is up (``--review argilla``, or ``auto``): the round's
proposals are pushed and responses pulled with the consensus rule on every check. ``--review store``
reads the store's statuses instead (``triforge samples mark|correct``, the curator API). A correction
supersedes its parent, and the corrected child is what the snapshot holds when it is approved.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curation.paths import triforge_home
from curation.samples import set_status
from curation.snapshots import create_snapshot
from curation.store import Store, StoreLockedError
from schemas.training import TrainConfig

DECIDED = ("approved", "rejected", "superseded")
SNAPSHOT_FILTER = "status = approved and validation = passed and duplicate_of is null"
Say = Callable[[str], None]


@dataclass
class LoopSettings:
    n: int = 20
    base_model: str = "smollm2"
    config: TrainConfig = field(default_factory=TrainConfig)
    eval_suite: Path | None = None
    eval_limit: int | None = None
    max_new_tokens: int = 256
    proposal_tokens: int = 512
    wait: bool = True
    poll_seconds: float = 30.0
    review: str = "auto"  # argilla | store | auto (Argilla when the local stack is up)
    consensus: str = "unanimous"
    min_submitted: int = 1
    timeout_seconds: float | None = None


@dataclass
class RoundOutcome:
    round: int
    finished: bool  # False: stopped waiting for reviews
    report: dict[str, Any] | None = None
    waiting_for: int = 0


class _State:
    """Reads and writes ``loop_steps``; opens the store only for the moment it needs it."""

    def __init__(self, store_path: Path | None) -> None:
        self.store_path = store_path

    def open(self, *, read_only: bool = False) -> Store:
        return Store(self.store_path, read_only=read_only)

    def rows(self, round_no: int) -> dict[str, dict[str, Any]]:
        with self.open() as store:
            rows = store.con.execute(
                "SELECT step, status, data, error FROM loop_steps WHERE round = ?", [round_no]
            ).fetchall()
        return {r[0]: {"status": r[1], "data": json.loads(r[2]), "error": r[3]} for r in rows}

    def save(self, round_no: int, step: str, status: str, data: dict[str, Any], error: str | None = None) -> None:
        with self.open() as store, store.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO loop_steps VALUES (?, ?, ?, ?, ?, ?)",
                [round_no, step, status, json.dumps(data), error, datetime.now(UTC).replace(tzinfo=None)],
            )

    def current_round(self) -> int:
        """The lowest round with an unfinished step, else a new one."""
        with self.open() as store:
            last = store.con.execute("SELECT max(round) FROM loop_steps").fetchone()[0]
            if last is None:
                return 1
            done = store.con.execute(
                "SELECT count(*) FROM loop_steps WHERE round = ? AND step = 'report' AND status = 'done'", [last]
            ).fetchone()[0]
        return last + 1 if done else last

    def previous(self, round_no: int, step: str) -> dict[str, Any] | None:
        with self.open() as store:
            row = store.con.execute(
                "SELECT data FROM loop_steps WHERE round < ? AND step = ? AND status = 'done' "
                "ORDER BY round DESC LIMIT 1",
                [round_no, step],
            ).fetchone()
        return json.loads(row[0]) if row else None


def _propose(state: _State, round_no: int, settings: LoopSettings, say: Say) -> dict[str, Any]:
    from generators.teacher.batch import BatchSettings, run_batch
    from generators.teacher.clients import InProcess
    from generators.teacher.tasks import draw_bootstrap_tasks
    from schemas.sample import SourceType
    from trainer.generation import load_model

    earlier = state.previous(round_no, "train")
    model_ref = earlier["adapter_dir"] if earlier else settings.base_model
    say(f"round {round_no}: proposing {settings.n} answers with {model_ref}")
    client = InProcess(load_model(model_ref))
    batch = BatchSettings(
        seed=round_no,
        concurrency=1,
        max_tokens=settings.proposal_tokens,
        temperature=0.7,
        source_type=SourceType.bootstrap,
        structured=False,
    )
    with state.open() as store:
        summary = run_batch(store, client, draw_bootstrap_tasks(settings.n, 1000 + round_no), batch)
    return {
        "model": model_ref,
        "batch_id": summary.batch_id,
        "ids": summary.ids,
        "valid": summary.valid,
        "failed": summary.failed,
    }


def _open_decisions(store: Store, ids: list[str]) -> tuple[int, dict[str, int]]:
    """How many proposals are still open, and the status counts. A proposal an expert corrected is decided
    only once its correction is (approved or rejected), so the correction can make the snapshot."""
    counts = dict(
        store.con.execute(
            "SELECT status, count(*) FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1", [ids]
        ).fetchall()
    )
    open_corrections = store.con.execute(
        "SELECT count(*) FROM samples c JOIN samples p ON c.parent_id = p.id "
        "WHERE p.id IN (SELECT unnest(?::VARCHAR[])) AND p.status = 'superseded' "
        "AND c.status NOT IN ('approved', 'rejected', 'superseded')",
        [ids],
    ).fetchone()[0]
    return sum(v for k, v in counts.items() if k not in DECIDED) + open_corrections, counts


def _review_backend(mode: str) -> Any:
    """The Argilla client when reviews go through Argilla, None when they are read from the store."""
    if mode == "store":
        return None
    from labeling.argilla.stack import LabelingStack

    stack = LabelingStack()
    if mode == "auto" and not (stack.credentials_file.exists() and stack.healthy()):
        return None
    from labeling.argilla.client import connect

    return connect(stack)


def _review(state: _State, round_no: int, settings: LoopSettings, proposed: dict[str, Any], say: Say) -> dict | None:
    """Put the round's proposals in review once; return their decisions when all are decided, else None.

    Through Argilla, every proposal is pushed (experts also correct the ones that fail validation) and each
    check pulls responses first; from the store, statuses set by ``samples mark|correct`` decide."""
    ids = proposed["ids"]
    client = _review_backend(settings.review)
    where = f"id in ({', '.join(json.dumps(i) for i in ids)})" if ids else None
    with state.open() as store:
        if client is not None and where:
            from labeling.argilla.push import push

            push(store, client, where=where, min_submitted=settings.min_submitted)
        undecided = [
            r[0]
            for r in store.con.execute(
                "SELECT id FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[])) AND status = 'proposed'", [ids]
            ).fetchall()
        ]
        if undecided:
            set_status(store, undecided, "in_review", actor="loop", reason=f"round {round_no}")
    deadline = time.monotonic() + settings.timeout_seconds if settings.timeout_seconds else None
    where_to = "in Argilla (triforge labeling status)" if client is not None else "(triforge samples mark / correct)"
    while True:
        try:
            if client is not None:
                from labeling.argilla.pull import pull

                with state.open() as store:
                    pull(store, client, rule=settings.consensus, min_submitted=settings.min_submitted, ids=ids)
            with state.open(read_only=True) as store:
                open_, counts = _open_decisions(store, ids)
        except StoreLockedError:  # an expert's `samples mark` or the service holds the store right now
            open_, counts = -1, {}
        if open_ == 0:
            return {"decisions": counts, "via": "argilla" if client is not None else "store"}
        if open_ > 0 and (not settings.wait or (deadline and time.monotonic() > deadline)):
            say(f"round {round_no}: {open_} of {len(ids)} proposals await review {where_to}")
            state.save(round_no, "review", "waiting", {"open": open_, "decisions": counts})
            return None
        time.sleep(settings.poll_seconds)


def _train(state: _State, round_no: int, settings: LoopSettings, snapshot: dict[str, Any], say: Say) -> dict:
    from trainer.sft import train

    out = triforge_home() / "adapters" / f"loop-r{round_no}"
    say(f"round {round_no}: training on {snapshot['name']} ({snapshot['members']} samples) -> {out}")
    result = train(
        state.store_path,
        snapshot["id"],
        base_model=settings.base_model,
        out=out,
        config=settings.config,
        overwrite=True,
    )
    metrics = result.manifest.metrics
    return {
        "adapter_dir": str(result.adapter_dir),
        "run_id": result.manifest.run_id,
        "metrics": {k: metrics.get(k) for k in ("first_loss", "last_loss", "eval_loss", "steps")},
    }


def _eval(state: _State, model_ref: str, settings: LoopSettings) -> str:
    from trainer.evaluation.runner import evaluate_model, record_eval, select_cases
    from trainer.evaluation.suites import load_suite_file
    from trainer.gates import DEFAULT_SUITE

    suite = settings.eval_suite or DEFAULT_SUITE
    cases = select_cases(load_suite_file(suite), limit=settings.eval_limit)
    report = evaluate_model(model_ref, suite, cases, max_new_tokens=settings.max_new_tokens)
    with state.open() as store:
        record_eval(store, report)
    return report.id


def run_round(store_path: Path | None, settings: LoopSettings, *, say: Say = print) -> RoundOutcome:
    state = _State(store_path)
    round_no = state.current_round()
    rows = state.rows(round_no)

    def done(step: str) -> dict[str, Any] | None:
        row = rows.get(step)
        return row["data"] if row and row["status"] == "done" else None

    def step(name: str, fn: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        if (finished := done(name)) is not None:
            return finished
        state.save(round_no, name, "running", {})
        try:
            data = fn()
        except BaseException as exc:
            state.save(round_no, name, "failed", {}, f"{type(exc).__name__}: {exc}")
            raise
        if data is not None:
            state.save(round_no, name, "done", data)
            rows[name] = {"status": "done", "data": data, "error": None}
        return data

    proposed = step("propose", lambda: _propose(state, round_no, settings, say))
    assert proposed is not None
    reviewed = step("review", lambda: _review(state, round_no, settings, proposed, say))
    if reviewed is None:
        waiting = state.rows(round_no)["review"]["data"].get("open", 0)
        return RoundOutcome(round_no, False, waiting_for=waiting)

    def snapshot() -> dict[str, Any]:
        from curation.snapshots import resolve_snapshot
        from curation.validators.runner import validate_samples

        name = f"loop-r{round_no}"
        with state.open() as store:
            validate_samples(store, "status = approved and validation = pending")  # e.g. experts' corrections
            if store.con.execute("SELECT 1 FROM snapshots WHERE name = ?", [name]).fetchone():
                snap = resolve_snapshot(store, name)  # a retried step keeps what it froze the first time
            else:
                snap = create_snapshot(store, name, SNAPSHOT_FILTER, reuse_same_members=True)
        earlier = state.previous(round_no, "snapshot")
        return {"id": snap.id, "name": snap.name, "members": snap.member_count,
                "new_data": earlier is None or earlier["id"] != snap.id}  # fmt: skip

    snap = step("snapshot", snapshot)

    def train_or_reuse() -> dict[str, Any]:
        earlier = state.previous(round_no, "train")
        if earlier and not snap["new_data"]:
            say(f"round {round_no}: no newly approved sample; keeping {earlier['adapter_dir']}")
            return {**earlier, "reused": True}
        return _train(state, round_no, settings, snap, say)

    trained = step("train", train_or_reuse)

    def evaluate() -> dict[str, Any]:
        earlier = state.previous(round_no, "eval")
        baseline = earlier["adapter_eval"] if earlier else _eval(state, settings.base_model, settings)
        say(f"round {round_no}: evaluating {trained['adapter_dir']}")
        return {"baseline_eval": baseline, "adapter_eval": _eval(state, trained["adapter_dir"], settings)}

    evals = step("eval", evaluate)

    def report() -> dict[str, Any]:
        from trainer.evaluation.runner import compare_eval_runs

        with state.open(read_only=True) as store:
            diff = compare_eval_runs(store, evals["baseline_eval"], evals["adapter_eval"])["suites"]["ALL"]
            approved = store.con.execute(
                "SELECT count(*) FROM samples WHERE id IN (SELECT unnest(?::VARCHAR[])) AND status = 'approved'",
                [proposed["ids"]],
            ).fetchone()[0]
            corrected = store.con.execute(
                "SELECT count(*) FROM samples WHERE parent_id IN (SELECT unnest(?::VARCHAR[])) AND status = 'approved'",
                [proposed["ids"]],
            ).fetchone()[0]
        return {
            "round": round_no,
            "proposed": len(proposed["ids"]),
            "approved_this_round": approved,
            "approved_after_correction": corrected,
            "decisions": reviewed["decisions"],
            "snapshot": snap,
            "adapter": trained,
            "eval": {
                "baseline": evals["baseline_eval"],
                "adapter": evals["adapter_eval"],
                "word": diff["word"],
                "substring": diff["substring"],
                "cases": diff["cases"],
            },
        }

    final = step("report", report)
    return RoundOutcome(round_no, True, final)


def loop_status(store: Store) -> list[dict[str, Any]]:
    rows = store.con.execute(
        "SELECT round, step, status, error, updated_at FROM loop_steps ORDER BY round, updated_at"
    ).fetchall()
    return [{"round": r[0], "step": r[1], "status": r[2], "error": r[3], "updated_at": str(r[4])[:19]} for r in rows]

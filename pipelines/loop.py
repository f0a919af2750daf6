"""``triforge loop``: one Strategy-4 round as one resumable command, composed of steps.

propose -> review -> snapshot -> train -> eval -> report. The current adapter (the last round's, or
the base model in round 1) answers bug-injection questions (:class:`Propose`, through the one check
step); its proposals are put in review (:class:`ReviewPush`) and, once experts have decided them
(:class:`ReviewPull` reads the decisions; ``--no-wait`` stops there, and the next ``loop`` picks up),
every approved, valid, non-duplicate sample is frozen (:class:`Freeze`), trained on (:class:`Train`),
evaluated (:class:`Evaluate`), and the round reports what changed (:class:`Report`). Each step's
outcome is a row in ``loop_steps`` (``workspace.experiments``); a step that crashed or was killed is
run again, a finished one never is (and the proposal step itself resumes from its ledger).

Review goes through Argilla when the local stack is up (``--review argilla``, or ``auto``): the round's
proposals are pushed and responses pulled with the consensus rule on every check. ``--review store``
reads the store's statuses instead (``triforge samples mark|correct``, the curator API). A correction
supersedes its parent, and the corrected child is what the snapshot holds when it is approved.

The store is opened only for the moments a step reads or writes (:func:`briefly`), so experts' marks,
the service and a training run of hours never wait on the loop's lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from curation.errors import NotFound
from curation.eval_suites import load_suite_file
from curation.resources.experiments import Decisions, LoopStepRecord
from curation.store import StoreLockedError
from curation.validators.runner import validate_samples
from curation.workspace import Workspace
from generators.teacher.batch import BatchSettings
from generators.teacher.clients import InProcess
from generators.teacher.tasks import draw_bootstrap_tasks
from pipelines.base import PipelineStep, briefly
from pipelines.generate import ProposeWithModel
from pipelines.review_channel import ReviewChannel
from schemas.sample import SourceType
from schemas.training import TrainConfig
from trainer.evaluation.runner import compare_eval_runs, evaluate_model, record_eval, select_cases
from trainer.gates import DEFAULT_SUITE
from trainer.generation import load_model
from trainer.sft import train

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
    consensus: str = "unanimous"
    min_submitted: int = 1
    timeout_seconds: float | None = None
    # Where experts review (the entry point opens it: Argilla when the stack is up); None: decisions are
    # read from the store, made with `triforge samples mark / correct`.
    channel: ReviewChannel | None = None


# --- what each step hands on, stored as one JSON row in loop_steps ---------------------------------


@dataclass(frozen=True)
class Proposed:
    model: str  # the adapter directory (or base model) that answered
    batch_id: str
    ids: list[str]
    valid: int
    failed: int


@dataclass(frozen=True)
class Reviewed:
    decisions: dict[str, int]  # status -> proposals
    via: str  # argilla | store


@dataclass(frozen=True)
class Frozen:
    id: str
    name: str
    members: int
    new_data: bool  # its members differ from the last round's snapshot


@dataclass(frozen=True)
class Trained:
    adapter_dir: str
    run_id: str
    metrics: dict[str, float | None]
    reused: bool = False  # no newly approved sample: the last round's adapter stands


@dataclass(frozen=True)
class Evaluated:
    baseline_eval: str
    adapter_eval: str


@dataclass(frozen=True)
class EvalChange:
    baseline: str
    adapter: str
    word: dict[str, float]  # a, b, delta of the whole-word keyword rule
    substring: dict[str, float]
    cases: int


@dataclass(frozen=True)
class RoundReport:
    round: int
    proposed: int
    approved_this_round: int
    approved_after_correction: int
    decisions: dict[str, int]
    snapshot: Frozen
    adapter: Trained
    eval: EvalChange

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RoundReport:
        nested = {"snapshot": Frozen(**data["snapshot"]), "adapter": Trained(**data["adapter"]),
                  "eval": EvalChange(**data["eval"])}  # fmt: skip
        return cls(**(data | nested))


@dataclass
class RoundOutcome:
    round: int
    finished: bool  # False: stopped waiting for reviews
    report: RoundReport | None = None
    waiting_for: int = 0


Result = TypeVar("Result", Proposed, Reviewed, Frozen, Trained, Evaluated, RoundReport)


class Propose(PipelineStep):
    """The current model answers ``n`` bug-injection questions; the replies are stored and checked."""

    name = "propose"

    def run(self, round_no: int, model_ref: str, settings: LoopSettings) -> Proposed:
        client = InProcess(load_model(model_ref, home=self.workspace.home))
        batch = BatchSettings(
            seed=round_no,
            concurrency=1,
            max_tokens=settings.proposal_tokens,
            temperature=0.7,
            source_type=SourceType.bootstrap,
            structured=False,
        )
        with briefly(self.workspace) as ws:
            summary = ProposeWithModel(ws).run(client, draw_bootstrap_tasks(settings.n, 1000 + round_no), batch)
        return Proposed(model_ref, summary.batch_id, summary.ids, summary.valid, summary.failed)


class ReviewPush(PipelineStep):
    """Put a round's proposals in review: send them to the review channel (experts also correct the ones
    that fail validation) when there is one, and mark the still-proposed ones ``in_review``."""

    name = "review-push"

    def run(self, round_no: int, ids: list[str], channel: ReviewChannel | None, *, min_submitted: int = 1) -> None:
        with briefly(self.workspace) as ws:
            if channel is not None and ids:
                channel.push(ws, ids, min_submitted=min_submitted)
            undecided = ws.experiments.with_status(ids, "proposed")
            if undecided:
                ws.samples.set_status(undecided, "in_review", actor="loop", reason=f"round {round_no}")


class ReviewPull(PipelineStep):
    """Read where a round's proposals stand: pull the review channel's responses first when there is one.
    Returns None while another process holds the store (an expert's ``samples mark``, the service)."""

    name = "review-pull"

    def run(
        self, ids: list[str], channel: ReviewChannel | None, *, consensus: str = "unanimous", min_submitted: int = 1
    ) -> Decisions | None:
        try:
            if channel is not None:
                with briefly(self.workspace) as ws:
                    channel.pull(ws, ids, rule=consensus, min_submitted=min_submitted)
            with briefly(self.workspace, read_only=True) as ws:
                return ws.experiments.decisions(ids)
        except StoreLockedError:
            return None


class Freeze(PipelineStep):
    """Validate what experts approved since (their corrections), then freeze the round's snapshot."""

    name = "snapshot"

    def run(self, round_no: int, previous: Frozen | None) -> Frozen:
        name = f"loop-r{round_no}"
        with briefly(self.workspace) as ws:
            validate_samples(ws, "status = approved and validation = pending")  # e.g. experts' corrections
            try:
                snap = ws.snapshots.resolve(name)  # a retried step keeps what it froze the first time
            except NotFound:
                snap = ws.snapshots.create(name, SNAPSHOT_FILTER, reuse_same_members=True)
        return Frozen(snap.id, snap.name, snap.member_count, new_data=previous is None or previous.id != snap.id)


class Train(PipelineStep):
    """A LoRA adapter on the round's snapshot, under the workspace's adapters folder."""

    name = "train"

    def run(self, round_no: int, settings: LoopSettings, snapshot: Frozen, say: Say) -> Trained:
        out = self.workspace.paths.adapters / f"loop-r{round_no}"
        say(f"round {round_no}: training on {snapshot.name} ({snapshot.members} samples) -> {out}")
        result = train(
            self.workspace, snapshot.id, base_model=settings.base_model, out=out, config=settings.config,
            overwrite=True,
        )  # fmt: skip
        metrics = result.manifest.metrics
        kept = {k: metrics.get(k) for k in ("first_loss", "last_loss", "eval_loss", "steps")}
        return Trained(str(result.adapter_dir), result.manifest.run_id, kept)


class Evaluate(PipelineStep):
    """One model on the round's eval cases, stored; returns the eval run id."""

    name = "eval"

    def run(self, model_ref: str, settings: LoopSettings) -> str:
        suite = settings.eval_suite or DEFAULT_SUITE
        cases = select_cases(load_suite_file(suite), limit=settings.eval_limit)
        report = evaluate_model(
            model_ref, suite, cases, max_new_tokens=settings.max_new_tokens, home=self.workspace.home
        )
        with briefly(self.workspace) as ws:
            record_eval(ws, report)
        return report.id


class Report(PipelineStep):
    """What the round changed: decisions, the snapshot, the adapter, and the eval difference."""

    name = "report"

    def run(
        self, round_no: int, proposed: Proposed, reviewed: Reviewed, snapshot: Frozen, trained: Trained,
        evals: Evaluated,
    ) -> RoundReport:  # fmt: skip

        with briefly(self.workspace, read_only=True) as ws:
            diff = compare_eval_runs(ws, evals.baseline_eval, evals.adapter_eval)["suites"]["ALL"]
            approved = len(ws.experiments.with_status(proposed.ids, "approved"))
            corrected = ws.experiments.approved_children(proposed.ids)
        change = EvalChange(evals.baseline_eval, evals.adapter_eval, diff["word"], diff["substring"], diff["cases"])
        return RoundReport(
            round=round_no,
            proposed=len(proposed.ids),
            approved_this_round=approved,
            approved_after_correction=corrected,
            decisions=reviewed.decisions,
            snapshot=snapshot,
            adapter=trained,
            eval=change,
        )


class RoundLedger:
    """``loop_steps`` for one round: what is done, and recording each step's state as it runs."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        with briefly(workspace) as ws:
            self.round = ws.experiments.current_loop_round()
            self.rows: dict[str, LoopStepRecord] = ws.experiments.loop_steps(self.round)

    def done(self, step: str, kind: type[Result]) -> Result | None:
        row = self.rows.get(step)
        return _load(kind, row.data) if row and row.done else None

    def previous(self, step: str, kind: type[Result]) -> Result | None:
        """The result of ``step`` in the latest earlier round that finished it."""
        with briefly(self.workspace) as ws:
            data = ws.experiments.previous_loop_step(self.round, step)
        return _load(kind, data) if data is not None else None

    def save(self, step: str, status: str, data: dict[str, Any], error: str | None = None) -> None:
        with briefly(self.workspace) as ws:
            ws.experiments.save_loop_step(self.round, step, status, data, error)
            self.rows = ws.experiments.loop_steps(self.round)

    def run(self, step: str, kind: type[Result], fn: Callable[[], Result | None]) -> Result | None:
        """``fn``'s result, recorded as done; a finished step returns its stored result without running.
        ``fn`` returning None leaves the step unfinished (it recorded its own state, e.g. waiting)."""
        if (finished := self.done(step, kind)) is not None:
            return finished
        self.save(step, "running", {})
        try:
            result = fn()
        except BaseException as exc:
            self.save(step, "failed", {}, f"{type(exc).__name__}: {exc}")
            raise
        if result is not None:
            self.save(step, "done", asdict(result))
        return result


def _load(kind: type[Result], data: dict[str, Any]) -> Result:
    return kind.from_data(data) if kind is RoundReport else kind(**data)  # type: ignore[attr-defined]


def _await_reviews(
    workspace: Workspace, ledger: RoundLedger, settings: LoopSettings, ids: list[str], say: Say
) -> Reviewed | None:
    """Put the proposals in review once; return their decisions when all are decided, else None (waiting)."""
    channel = settings.channel
    ReviewPush(workspace).run(ledger.round, ids, channel, min_submitted=settings.min_submitted)
    pull = ReviewPull(workspace)
    deadline = time.monotonic() + settings.timeout_seconds if settings.timeout_seconds else None
    where_to = channel.where if channel is not None else "(triforge samples mark / correct)"
    while True:
        decisions = pull.run(ids, channel, consensus=settings.consensus, min_submitted=settings.min_submitted)
        if decisions is not None and decisions.open == 0:
            return Reviewed(decisions.counts, channel.name if channel is not None else "store")
        if decisions is not None and (not settings.wait or (deadline and time.monotonic() > deadline)):
            say(f"round {ledger.round}: {decisions.open} of {len(ids)} proposals await review {where_to}")
            ledger.save("review", "waiting", {"open": decisions.open, "decisions": decisions.counts})
            return None
        time.sleep(settings.poll_seconds)


def run_round(workspace: Workspace, settings: LoopSettings, *, say: Say = print) -> RoundOutcome:
    """Run (or resume) the current round's steps in order; stop early while reviews are open."""
    ledger = RoundLedger(workspace)
    round_no = ledger.round

    def propose() -> Proposed:
        earlier = ledger.previous("train", Trained)
        model_ref = earlier.adapter_dir if earlier else settings.base_model
        say(f"round {round_no}: proposing {settings.n} answers with {model_ref}")
        return Propose(workspace).run(round_no, model_ref, settings)

    proposed = ledger.run("propose", Proposed, propose)
    assert proposed is not None
    reviewed = ledger.run("review", Reviewed, lambda: _await_reviews(workspace, ledger, settings, proposed.ids, say))
    if reviewed is None:
        return RoundOutcome(round_no, False, waiting_for=ledger.rows["review"].data.get("open", 0))

    snap = ledger.run("snapshot", Frozen, lambda: Freeze(workspace).run(round_no, ledger.previous("snapshot", Frozen)))
    assert snap is not None

    def train_or_reuse() -> Trained:
        earlier = ledger.previous("train", Trained)
        if earlier and not snap.new_data:
            say(f"round {round_no}: no newly approved sample; keeping {earlier.adapter_dir}")
            return replace(earlier, reused=True)
        return Train(workspace).run(round_no, settings, snap, say)

    trained = ledger.run("train", Trained, train_or_reuse)
    assert trained is not None

    def evaluate() -> Evaluated:
        earlier = ledger.previous("eval", Evaluated)
        evaluator = Evaluate(workspace)
        baseline = earlier.adapter_eval if earlier else evaluator.run(settings.base_model, settings)
        say(f"round {round_no}: evaluating {trained.adapter_dir}")
        return Evaluated(baseline, evaluator.run(trained.adapter_dir, settings))

    evals = ledger.run("eval", Evaluated, evaluate)
    assert evals is not None
    report = Report(workspace)
    final = ledger.run("report", RoundReport, lambda: report.run(round_no, proposed, reviewed, snap, trained, evals))
    return RoundOutcome(round_no, True, final)


@dataclass(frozen=True)
class LoopStepState:
    """One row of ``triforge loop --status``."""

    round: int
    step: str
    status: str
    error: str | None
    updated_at: str


def loop_status(workspace: Workspace) -> list[LoopStepState]:
    return [
        LoopStepState(r.round, r.step, r.status, r.error, str(r.updated_at)[:19])
        for r in workspace.experiments.loop_history()
    ]


__all__ = [
    "EvalChange",
    "Evaluate",
    "Evaluated",
    "Freeze",
    "Frozen",
    "LoopSettings",
    "LoopStepState",
    "Propose",
    "Proposed",
    "Report",
    "ReviewPull",
    "ReviewPush",
    "Reviewed",
    "RoundLedger",
    "RoundOutcome",
    "RoundReport",
    "Train",
    "Trained",
    "loop_status",
    "run_round",
]

"""The model path of ``propose repairs``: a teacher or bootstrap model rewrites what restructuring could not.

Only candidates the deterministic path left unrepaired come here. Each gets one request
(``prompt.py``) through the teacher's clients and its retry loop (``generators/teacher``: 429s, 5xx and
timeouts retried with backoff, a refused request failed for that sample only, a bad key or unknown
model stopping the run). The reply is checked like a restructuring: its code blocks must be the
original's, byte-identical, in order, none added (``model_changed_code`` otherwise), then the kind's
required validators must all pass (``model_still_fails:<validator>``). Only a reply that passes is
written - the same proposed child revision a restructuring makes, with provenance naming the model
(``teacher``/``bootstrap``, ``repair@1/openai:MODEL``) and ``metadata.repair.path = "model"``.

Resumable and paid for once: a sample that already has a repair child is not asked, and every reply is
written to the teacher ledger (``teacher_requests``) the moment it arrives, keyed by model, prompt
version, seed and sample - so a rerun re-checks the stored reply instead of asking again, whether it
passed or not (another ``--seed`` asks again). A run stopped by a fatal error keeps what it was paid for.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from curation.repairs.candidates import code_difference, code_failures, existing_repairs
from curation.repairs.prompt import REPAIR_PROMPT_VERSION, answer_from_reply, repair_request
from curation.repairs.service import Progress, RepairOutcome
from curation.resources.teacher_requests import RequestRecord
from curation.samples import derive_revision
from curation.store import StoreError
from curation.validators.runner import judge, record_results
from curation.workspace import Workspace

# The teacher batch's request loop and ledger: workers only call the endpoint, the main thread writes
# every reply, and a reply already paid for is never asked again.
from generators.teacher.batch import BatchSettings
from generators.teacher.batch import RequestLedger as Ledger
from generators.teacher.clients import ChatClient, Reply
from generators.teacher.pool import REJECTED, Request, RequestRejected, RetriesExhausted, send_all
from schemas.sample import Provenance, SampleRevision

LEDGER_PREFIX = "repair-"


@dataclass
class ModelRepairer:
    """A client and the request settings (``BatchSettings``: seed, concurrency, retries, tokens, and
    ``source_type`` - ``teacher`` for an endpoint, ``bootstrap`` for a model loaded in process)."""

    client: ChatClient
    settings: BatchSettings = field(default_factory=lambda: BatchSettings(max_tokens=1536, temperature=0.2))
    sleep: Callable[[float], None] = time.sleep

    @property
    def model_name(self) -> str:
        return f"{self.client.provider}:{self.client.model}"

    def source_name(self, repairer: str) -> str:
        return f"{repairer}/{self.model_name}"  # "/": Argilla agent names allow it, not "+"

    @property
    def run_key(self) -> str:
        """Same model, prompt wording and seed: same run, so its replies are reused, not bought again."""
        key = json.dumps([self.client.provider, self.client.model, REPAIR_PROMPT_VERSION, self.settings.seed])
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    def ledger_id(self, parent_id: str) -> str:
        return f"{LEDGER_PREFIX}{self.run_key}-{parent_id[:16]}"

    def repair(
        self,
        workspace: Workspace,
        todo: list[tuple[RepairOutcome, SampleRevision]],
        *,
        repairer_name: str,
        progress: Progress | None = None,
    ) -> ModelSummary:
        """``curation.repairs.service``'s hook: rewrite what restructuring left unrepaired."""
        return repair_with_model(workspace, self, todo, repairer_name=repairer_name, progress=progress)


@dataclass
class ModelSummary:
    model: str
    source_name: str
    source_type: str
    tried: int = 0  # candidates the deterministic path left unrepaired
    already_repaired: int = 0  # had a repair child already: not asked
    not_asked: int = 0  # its code fails a code-only validator (asm_assembles): no rewrite can pass
    replies_reused: int = 0  # answered by an earlier run (the ledger): re-checked, not asked
    asked: int = 0  # requests sent by this run (one per sample; retries are counted in api_calls)
    api_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _Task:
    """What the ledger needs of a task: its row index and what it was."""

    index: int
    parent_id: str
    kind: str
    category: str | None

    def as_dict(self) -> dict[str, object]:
        return {"repair_of": self.parent_id, "kind": self.kind, "category": self.category,
                "prompt_version": REPAIR_PROMPT_VERSION}  # fmt: skip


def _child(
    repairer: ModelRepairer, source_name: str, parent_id: str, original: SampleRevision, answer: str, row: RequestRecord
) -> SampleRevision:
    accounting = {
        "attempts": row.attempts,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "cost_usd": round(row.cost, 8),
    }
    repair = {
        "by": source_name,
        "path": "model",
        "model": repairer.model_name,
        "prompt_version": REPAIR_PROMPT_VERSION,
        "ledger": repairer.ledger_id(parent_id),
        "fixed": ["model_rewrite"],
        **accounting,
    }
    return derive_revision(
        parent_id,
        original,
        answer=answer,
        metadata={**original.metadata, "repair_of": parent_id, "repair": repair},
        provenance=Provenance(
            source_type=repairer.settings.source_type,
            source_name=source_name,
            original={
                "repair_of": parent_id,
                "path": "model",
                "model": repairer.model_name,
                "ledger": repairer.ledger_id(parent_id),
                "parent_source": f"{original.provenance.source_type}:{original.provenance.source_name}",
            },
        ),
    )


def repair_with_model(
    workspace: Workspace,
    repairer: ModelRepairer,
    todo: list[tuple[RepairOutcome, SampleRevision]],
    *,
    repairer_name: str,
    progress: Progress | None = None,
) -> ModelSummary:
    """Ask the model for each unrepaired candidate in ``todo``; write the rewrites that pass. Updates each
    outcome in place (``path``, ``model_reason``, ``reason``, ``repair_id``, ``new``)."""

    settings, client = repairer.settings, repairer.client
    source_name = repairer.source_name(repairer_name)
    summary = ModelSummary(repairer.model_name, source_name, str(settings.source_type), tried=len(todo))
    done = 0

    def tick() -> None:
        if progress:
            progress("model repairs", done, len(todo))

    def conclude(outcome: RepairOutcome, reason: str | None, detail: str | None = None) -> None:
        nonlocal done
        outcome.model_reason = reason
        outcome.reason, outcome.detail = reason, detail
        done += 1
        tick()

    def settle(outcome: RepairOutcome, original: SampleRevision, task: _Task, ledger: Ledger) -> None:
        row = ledger.get(task)
        answer = answer_from_reply(row.raw or "")

        def reject(reason: str, detail: str) -> None:
            ledger.save(task, status="failed", error=f"{reason}: {detail}", revision_id=None)
            conclude(outcome, reason, detail)

        if not answer:
            return reject("model_empty_reply", "the reply is empty")
        changed = code_difference(original.answer, answer)
        if changed:
            return reject("model_changed_code", changed)
        try:
            child = _child(repairer, source_name, outcome.parent_id, original, answer, row)
        except StoreError:
            return reject("model_no_change", "the reply is the original answer")
        judgement = judge(child, workspace)
        results, failed = judgement.results, judgement.failed_required
        if failed:
            detail = "; ".join(f"{r.validator}: {i.code}" for r in failed for i in r.issues if i.severity == "error")
            return reject("model_still_fails:" + ",".join(r.validator for r in failed), detail)
        with workspace.transaction() as con:  # the repair, its results and its ledger row land together
            outcome.new = workspace.samples.write_child(
                child, actor=source_name, status="proposed", import_id=f"repair:{outcome.parent_id[:12]}"
            )
            record_results(workspace, [(child.id, child.kind, results)])
            ledger.save(task, con, status="stored", revision_id=child.id, error=None)
        outcome.repair_id, outcome.source_name = child.id, source_name
        outcome.fixed = ["model_rewrite"]
        outcome.warnings = sorted(
            {f"{r.validator}:{i.code}" for r in results for i in r.issues if i.severity == "warning"}
        )
        conclude(outcome, None)

    parent_ids = [o.parent_id for o, _ in todo]
    existing = existing_repairs(workspace, parent_ids, f"{repairer_name.split('@')[0]}@")
    broken_code = code_failures(workspace, parent_ids)
    queue: list[tuple[RepairOutcome, SampleRevision, _Task, Ledger]] = []
    tick()
    for outcome, original in todo:
        outcome.path = "model"
        if outcome.parent_id in existing:
            summary.already_repaired += 1
            outcome.repair_id, outcome.source_name = existing[outcome.parent_id]
            conclude(outcome, None)
            continue
        if outcome.parent_id in broken_code:
            summary.not_asked += 1
            why = f"the original fails {broken_code[outcome.parent_id]}, and a repair must keep its code"
            conclude(outcome, f"code_fails:{broken_code[outcome.parent_id]}", why)
            continue
        task = _Task(0, outcome.parent_id, original.kind.value, original.category)
        ledger = Ledger(workspace, repairer.ledger_id(outcome.parent_id), client)
        row = ledger.rows.get(0)
        if row and row.raw is not None:
            summary.replies_reused += 1
            settle(outcome, original, task, ledger)
        elif row and row.status == "failed" and (row.error or "").startswith(REJECTED):
            conclude(outcome, "model_request_rejected", row.error)
        else:
            queue.append((outcome, original, task, ledger))

    def sent(_: tuple[RepairOutcome, SampleRevision, _Task, Ledger]) -> None:
        summary.asked += 1

    def record(item: tuple[RepairOutcome, SampleRevision, _Task, Ledger], reply: Reply, attempts: int) -> None:
        _record(item[3], item[2], settings, summary, reply, attempts)

    def exhausted(item: tuple[RepairOutcome, SampleRevision, _Task, Ledger], exc: RetriesExhausted) -> None:
        outcome, _, task, ledger = item
        summary.api_calls += exc.attempts
        rejected = isinstance(exc, RequestRejected)
        attempts_so_far = ledger.get(task).attempts + exc.attempts
        ledger.save(task, status="failed", error=f"{exc.why}: {exc}", attempts=attempts_so_far)
        conclude(outcome, "model_request_rejected" if rejected else "model_unreachable", str(exc))

    requests = deque(
        Request(item, repair_request(item[1]), settings.seed + int(item[0].parent_id[:6], 16)) for item in queue
    )
    send_all(
        client,
        settings,
        requests,
        record=record,
        settle=lambda item: settle(*item),
        exhausted=exhausted,
        sent=sent,
        sleep=repairer.sleep,
    )
    return summary


def _record(
    ledger: Ledger,
    task: _Task,
    settings: BatchSettings,
    summary: ModelSummary,
    reply: Reply,
    attempts: int,
) -> None:
    summary.api_calls += attempts
    summary.prompt_tokens += reply.prompt_tokens
    summary.completion_tokens += reply.completion_tokens
    ledger.answered(task, reply, attempts, settings, error=None)

"""Resumable teacher batches: concurrency, retries with backoff, one repair, a ledger of every token.

Every task of a batch has a row in ``teacher_requests``. Replies are written there the moment they
arrive (by the main thread; workers only make HTTP calls), before they are parsed, so a run killed at
any point resumes by re-reading what it already paid for: a stored task is skipped, an answered one is
parsed from the ledger, a repair is only asked once, and only tasks that never got a reply are sent
again. The pipeline's check step (``pipelines.check``) then judges the proposals like every other's.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from curation.errors import StoreError
from curation.resources.samples import PendingRevision
from curation.resources.teacher_requests import RequestRecord
from curation.workspace import Workspace
from generators.teacher.clients import ChatClient, Reply
from generators.teacher.pool import REJECTED, Request, RetriesExhausted, send_all
from generators.teacher.prompts import PROMPT_VERSION, ReplyError, parse_reply, repair_messages, task_messages
from generators.teacher.tasks import TeacherTask
from schemas.sample import Kind, Message, Provenance, Role, SampleRevision, SourceType

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BatchSettings:
    seed: int = 0
    concurrency: int = 4
    max_retries: int = 4
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    max_tokens: int = 1024
    temperature: float = 0.7
    price_in_per_mtok: float = 0.0  # USD per million prompt tokens
    price_out_per_mtok: float = 0.0
    source_type: SourceType = SourceType.teacher
    structured: bool = True  # JSON {"question","answer"} replies; False: the reply is the answer (bootstrap)
    batch_id: str | None = None

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.price_in_per_mtok + completion_tokens * self.price_out_per_mtok) / 1e6


@dataclass
class BatchSummary:
    batch_id: str
    source_name: str
    tasks: int
    stored: int
    failed: int
    skipped_already_done: int
    api_calls: int  # made by this run (retries included)
    prompt_tokens: int  # the whole batch, every run
    completion_tokens: int
    cost_usd: float
    valid: int = 0
    rejected_by_validators: int = 0
    duplicates: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "ids"}


def _settled(row: RequestRecord | None) -> bool:
    """Stored, or failed for good (a paid-for reply unusable after its repair, or a refused request)."""
    if not row:
        return False
    if row.status == "stored":
        return True
    return row.status == "failed" and (row.raw is not None or (row.error or "").startswith(REJECTED))


def batch_id_for(client: ChatClient, settings: BatchSettings, tasks: list[TeacherTask]) -> str:
    """Same provider, model, tasks and prompts: same batch, so re-running resumes instead of paying again."""
    key = json.dumps(
        [client.provider, client.model, PROMPT_VERSION, settings.structured, [t.as_dict() for t in tasks]],
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class RequestLedger:
    """The ``teacher_requests`` rows of one batch (written only from the main thread)."""

    def __init__(self, workspace: Workspace, batch_id: str, client: ChatClient) -> None:
        self.requests, self.batch_id, self.client = workspace.teacher_requests, batch_id, client
        self.rows: dict[int, RequestRecord] = self.requests.load(batch_id)

    def get(self, task: TeacherTask) -> RequestRecord:
        return self.rows.get(task.index) or RequestRecord()

    def save(self, task: TeacherTask, con: Any = None, **changes: Any) -> RequestRecord:
        record = replace(self.get(task), **changes)
        self.rows[task.index] = record
        self.requests.save(
            self.batch_id, task.index, task.as_dict(), self.client.provider, self.client.model, record, con
        )
        return record

    def answered(
        self, task: Any, reply: Reply, attempts: int, settings: BatchSettings, **changes: Any
    ) -> RequestRecord:
        """Record a paid reply: attempts, tokens and cost add to what earlier runs of the task spent."""
        previous = self.get(task)
        return self.save(
            task,
            status="answered",
            attempts=previous.attempts + attempts,
            raw=reply.text,
            prompt_tokens=previous.prompt_tokens + reply.prompt_tokens,
            completion_tokens=previous.completion_tokens + reply.completion_tokens,
            cost=previous.cost + settings.cost(reply.prompt_tokens, reply.completion_tokens),
            **changes,
        )


def _revision(
    task: TeacherTask,
    question: str,
    answer: str,
    client: ChatClient,
    row: RequestRecord,
    settings: BatchSettings,
    batch_id: str,
) -> SampleRevision:
    accounting = {
        "provider": client.provider,
        "model": client.model,
        "batch_id": batch_id,
        "task_index": task.index,
        "prompt_version": PROMPT_VERSION,
        "attempts": row.attempts,
        "repaired": row.repaired,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "cost_usd": round(row.cost, 8),
    }
    return SampleRevision(
        kind=Kind(task.kind),
        category=task.category,
        messages=(Message(role=Role.user, content=question), Message(role=Role.assistant, content=answer)),
        metadata={"teacher": accounting, "task": task.as_dict()},
        provenance=Provenance(
            source_type=settings.source_type,
            source_name=f"{client.provider}:{client.model}",
            original={"batch_id": batch_id, "task_index": task.index},
        ),
    )


def run_batch(
    workspace: Workspace,
    client: ChatClient,
    tasks: list[TeacherTask],
    settings: BatchSettings,
    *,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchSummary:
    batch_id = settings.batch_id or batch_id_for(client, settings, tasks)
    source_name = f"{client.provider}:{client.model}"
    ledger = RequestLedger(workspace, batch_id, client)
    summary = BatchSummary(batch_id, source_name, len(tasks), 0, 0, 0, 0, 0, 0, 0.0)
    # Requests waiting to be sent: (task, messages, seed, is_repair). At most `concurrency` are in flight,
    # so a fatal error leaves nothing sent whose reply would go unrecorded.
    queue: deque[Request[tuple[TeacherTask, bool]]] = deque()
    finished = summary.skipped_already_done

    def tick() -> None:
        if progress:
            progress("teacher", finished, len(tasks))

    def fail(task: TeacherTask, error: str, **changes: Any) -> None:
        nonlocal finished
        ledger.save(task, status="failed", error=error, **changes)
        summary.failed += 1
        summary.failures.append({"task_index": task.index, "error": error})
        finished += 1
        tick()

    def settle(task: TeacherTask) -> None:
        """Parse the ledger's reply for ``task``: store the proposal, queue the one repair, or give up."""
        nonlocal finished
        row = ledger.rows[task.index]
        try:
            if settings.structured:
                question, answer = parse_reply(row.raw)
            else:
                question, answer = task.question or "", (row.raw or "").strip()
                if not answer:
                    raise ReplyError("the reply is empty")
        except ReplyError as exc:
            if settings.structured and not row.repaired:
                repair = repair_messages(task, row.raw or "", str(exc))
                queue.append(Request((task, True), repair, settings.seed + task.index + 1))
            else:
                fail(task, f"unusable reply: {exc}")
            return
        revision = _revision(task, question, answer, client, row, settings, batch_id)
        with workspace.transaction() as con:  # the proposal and its ledger row land together
            workspace.samples.write(
                [PendingRevision(revision, "proposed", task.index)],
                import_id=f"teacher:{batch_id}",
                actor=f"teacher:{source_name}",
            )
            ledger.save(task, con, status="stored", revision_id=revision.id, error=None)
        summary.stored += 1
        summary.ids.append(revision.id)
        finished += 1
        tick()

    for task in tasks:
        row = ledger.rows.get(task.index)
        if row and row.status == "stored" and row.revision_id:
            summary.skipped_already_done += 1
            summary.stored += 1
            summary.ids.append(row.revision_id)
        elif _settled(row):
            summary.skipped_already_done += 1  # failed for good: unusable after its repair, or refused
            summary.failed += 1
    finished = summary.skipped_already_done
    tick()
    for task in tasks:
        row = ledger.rows.get(task.index)
        if _settled(row):
            continue
        if row and row.status == "answered" and row.raw is not None:
            settle(task)  # paid for by a run that was killed before parsing it
        else:
            prompt = (
                [{"role": "user", "content": task.question or ""}] if not settings.structured else task_messages(task)
            )
            queue.append(Request((task, False), prompt, settings.seed + task.index))

    def record(item: tuple[TeacherTask, bool], reply: Reply, attempts: int) -> None:
        summary.api_calls += attempts
        ledger.answered(item[0], reply, attempts, settings, repaired=item[1])

    def exhausted(item: tuple[TeacherTask, bool], exc: RetriesExhausted) -> None:
        task, previous = item[0], ledger.get(item[0])
        summary.api_calls += exc.attempts
        fail(task, f"{exc.why}: {exc}", attempts=previous.attempts + exc.attempts, raw=previous.raw)

    send_all(
        client,
        settings,
        queue,
        record=record,
        settle=lambda item: settle(item[0]),
        exhausted=exhausted,
        sleep=sleep,
    )
    summary.ids = list(dict.fromkeys(summary.ids))  # two tasks with identical replies share one revision
    totals = workspace.teacher_requests.totals(batch_id)
    summary.prompt_tokens, summary.completion_tokens, summary.cost_usd = (
        totals.prompt_tokens,
        totals.completion_tokens,
        totals.cost_usd,
    )
    if summary.stored + summary.failed != len(tasks):
        raise StoreError(f"batch {batch_id}: {len(tasks)} tasks but {summary.stored} stored + {summary.failed} failed")
    return summary

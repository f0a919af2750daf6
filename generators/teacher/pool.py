"""Send model requests a few at a time; the main thread records every reply.

Both the teacher batch (``generators.teacher.batch``) and the model repairs (``pipelines.repair``)
pay for each reply, so both need the same contract: at most ``concurrency`` requests in flight (a fatal
error leaves nothing sent whose reply would go unrecorded), retries with jittered exponential backoff
for transient errors (honouring ``Retry-After``), a refused request given up at once, workers that only
call the endpoint, and - on Ctrl-C or a bug in a callback - every reply already paid for recorded
before the error propagates. :func:`send_all` is that loop; the callers say what a reply means.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from generators.teacher.clients import ChatClient, FatalError, Reply, TaskError, TransientError

T = TypeVar("T")

REJECTED = "rejected by the endpoint"


class RetrySettings(Protocol):
    """What the loop reads of a batch's settings (``BatchSettings`` has them all)."""

    concurrency: int
    max_retries: int
    backoff_base: float
    backoff_cap: float
    max_tokens: int
    temperature: float


class RetriesExhausted(RuntimeError):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts

    @property
    def why(self) -> str:
        """How the ledger words it (a refusal starts with ``REJECTED``, so a rerun does not ask again)."""
        return f"gave up after {self.attempts} attempts"


class RequestRejected(RetriesExhausted):
    """The endpoint refused this request for good (TaskError); asking again would be refused again."""

    @property
    def why(self) -> str:
        return REJECTED


@dataclass(frozen=True)
class Request(Generic[T]):
    """One request to send: what it is for (``item``), the chat messages, and the sampling seed."""

    item: T
    messages: list[dict[str, str]]
    seed: int


def call_with_retries(
    client: ChatClient,
    messages: list[dict[str, str]],
    settings: RetrySettings,
    seed: int,
    sleep: Callable[[float], None],
) -> tuple[Reply, int]:
    """One reply and the attempts it took; runs in a worker thread."""
    rng = random.Random(seed)
    for attempt in range(settings.max_retries + 1):
        try:
            reply = client.complete(
                messages, max_tokens=settings.max_tokens, temperature=settings.temperature, seed=seed
            )
            return reply, attempt + 1
        except TaskError as exc:
            raise RequestRejected(str(exc), attempt + 1) from exc
        except TransientError as exc:
            if attempt == settings.max_retries:
                raise RetriesExhausted(str(exc), attempt + 1) from exc
            backoff = min(settings.backoff_cap, settings.backoff_base * 2**attempt) * (0.5 + rng.random() / 2)
            sleep(min(settings.backoff_cap, exc.retry_after if exc.retry_after is not None else backoff))
    raise AssertionError("unreachable")


def send_all(
    client: ChatClient,
    settings: RetrySettings,
    queue: deque[Request[T]],
    *,
    record: Callable[[T, Reply, int], None],
    settle: Callable[[T], None],
    exhausted: Callable[[T, RetriesExhausted], None],
    sent: Callable[[T], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send everything in ``queue`` (which ``settle`` may append to, e.g. a repair request), at most
    ``settings.concurrency`` at a time. Per finished request, on the main thread: ``record`` the paid
    reply, then ``settle`` it; or ``exhausted`` when it was refused or ran out of retries. A
    ``FatalError`` (bad key, unknown model) stops the sending, lets what is in flight finish, and is
    raised at the end; what is still queued waits for the next run."""
    fatal: FatalError | None = None
    in_flight: dict[Future, T] = {}
    with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
        try:
            while queue or in_flight:
                while queue and fatal is None and len(in_flight) < settings.concurrency:
                    request = queue.popleft()
                    future = pool.submit(call_with_retries, client, request.messages, settings, request.seed, sleep)
                    in_flight[future] = request.item
                    if sent is not None:
                        sent(request.item)
                if not in_flight:
                    break  # a fatal error stopped the sending
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    item = in_flight.pop(future)
                    try:
                        reply, attempts = future.result()
                    except FatalError as exc:
                        fatal = fatal or exc
                        continue
                    except RetriesExhausted as exc:
                        exhausted(item, exc)
                        continue
                    record(item, reply, attempts)
                    settle(item)
        except BaseException:
            # Ctrl-C, an unexpected client error, a bug in a callback: keep every reply already paid for.
            for future in list(in_flight):
                item = in_flight.pop(future)
                future.cancel()
                try:
                    reply, attempts = future.result(timeout=300)
                except BaseException:  # nothing to keep from a request that failed or never ran
                    continue
                record(item, reply, attempts)
            raise
    if fatal is not None:
        raise fatal


__all__ = [
    "REJECTED",
    "Request",
    "RequestRejected",
    "RetriesExhausted",
    "RetrySettings",
    "call_with_retries",
    "send_all",
]

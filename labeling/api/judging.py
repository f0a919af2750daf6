"""Judging submissions without letting one contributor stall the service.

Validation runs Asar on code a contributor wrote, and code can loop forever (``while 1``). So a
submission is judged here, *outside* the lock that serialises the store (which is then held only for
the short write), on a small pool of worker threads, with three limits:

* **one judgement per key at a time**: a key's later submissions wait their turn without holding a
  worker (they await on the event loop), so one key occupies at most one worker and everyone else
  keeps the rest;
* **a short assembler timeout per submission** (``assembler_timeout``, seconds of wall clock for all
  of its snippets together) - trusted imports on the CLI keep the long one;
* **a per-key budget of judging seconds** (a token bucket: ``assembler_seconds_burst`` at once,
  refilled at ``assembler_seconds_per_minute``): an honest submission costs a few hundredths of a
  second, an endless loop costs the whole timeout, so a key that keeps sending them is answered 429
  with ``Retry-After`` before it reaches the pool.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from curation.validators.runner import Judgement
from labeling.api.settings import ServiceSettings
from pipelines.check import OnlineCheck
from schemas.sample import SampleRevision


class JudgingBudgetSpent(Exception):
    """The key has spent its judging seconds; it may try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            f"this key's assembler budget is spent (submissions whose code ran to the timeout); "
            f"retry in {int(retry_after) + 1} s"
        )
        self.retry_after = retry_after


class SecondsBudget:
    """Per-key token buckets counted in seconds of judging: spend after the fact, refuse when negative."""

    def __init__(self, per_minute: float, burst: float) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        seconds, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, seconds + (now - last) * self.rate)

    def check(self, key: str, now: float | None = None) -> None:
        """Raise :class:`JudgingBudgetSpent` while the key's bucket is empty."""
        now = time.monotonic() if now is None else now
        with self._lock:
            level = self._level(key, now)
        if level <= 0:
            raise JudgingBudgetSpent((-level + 0.01) / self.rate if self.rate > 0 else 60.0)

    def spend(self, key: str, seconds: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._buckets[key] = (self._level(key, now) - seconds, now)


class JudgingPool:
    """Runs :meth:`OnlineCheck.assess` on worker threads, one judgement per key at a time, within
    the key's budget (see the module docstring)."""

    def __init__(self, check: OnlineCheck, settings: ServiceSettings) -> None:
        self.check = check
        self.budget = SecondsBudget(settings.assembler_seconds_per_minute, settings.assembler_seconds_burst)
        self._executor = ThreadPoolExecutor(max_workers=settings.judge_workers, thread_name_prefix="triforge-judge")
        # Each key's turn and how many requests share it; touched only on the event loop's thread, and
        # dropped when its last request leaves (keys come and go; locks must not pile up).
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}

    async def judge(self, key_id: str, revision: SampleRevision) -> Judgement:
        """The revision's judgement; raises :class:`JudgingBudgetSpent` instead of queueing when the
        key has no judging seconds left."""
        self.budget.check(key_id)
        turn, users = self._turns.get(key_id, (asyncio.Lock(), 0))
        self._turns[key_id] = (turn, users + 1)
        try:
            async with turn:
                self.budget.check(key_id)  # a queued request re-checks: the ones before may have spent it all
                started = time.monotonic()
                try:
                    loop = asyncio.get_running_loop()
                    return await loop.run_in_executor(self._executor, self.check.assess, revision)
                finally:
                    self.budget.spend(key_id, time.monotonic() - started)
        finally:
            turn, users = self._turns[key_id]
            if users <= 1:
                del self._turns[key_id]
            else:
                self._turns[key_id] = (turn, users - 1)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["JudgingBudgetSpent", "JudgingPool", "SecondsBudget"]

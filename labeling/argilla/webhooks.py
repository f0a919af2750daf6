"""Pull a record the moment Argilla says it is complete (Argilla 2.x webhooks, ``record.completed``).

``triforge review listen`` (or ``triforge serve --argilla-webhook-url``, which shares the service's
store) registers a webhook that points at itself, verifies each delivery's
Standard Webhooks signature (HMAC with the secret Argilla issued; deliveries older than five minutes
are refused too, so a captured one cannot be replayed later) and pulls just the completed record.

The HTTP handler only queues the record id and answers at once (Argilla gives a delivery 20 s);
one worker thread drains the queue, opening the store only for each pull so other commands keep
working between events. When another process holds the store, ids wait and are retried. A pull by
id is the same code as ``triforge review pull``, so a record delivered twice, or pulled by both, is
decided once. Pull stays the fallback: records completed while no listener ran are caught up by the
full pull the listener makes when it starts (``review listen`` in the foreground, the service
in its pull thread), or by ``triforge review pull``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response

from curation.store import StoreLockedError
from curation.workspace import Workspace
from labeling.api.strict_json import StrictJSONRoute
from labeling.argilla.datasets import WORKSPACE
from labeling.argilla.pull import pull

log = logging.getLogger(__name__)

EVENT = "record.completed"
PATH = "/argilla/webhook"
DESCRIPTION = "triforge review listen"
MAX_ATTEMPTS = 5


@dataclass
class ListenerStats:
    deliveries: int = 0  # verified deliveries of record.completed
    refused: int = 0  # bad signature, stale timestamp or unreadable body
    ignored: int = 0  # other workspaces' records, other events
    pulls: int = 0
    records_pulled: int = 0
    decided: int = 0
    pending: int = 0
    dropped: int = 0  # ids given up after MAX_ATTEMPTS failed pulls: the next full pull takes them
    last_error: str | None = None


def register(client: Any, url: str) -> Any:
    """The webhook for ``url``, created (or re-enabled) for ``record.completed``; Argilla keeps the secret."""
    import argilla as rg

    for webhook in client.webhooks:
        if webhook.url == url:
            if not webhook.enabled or EVENT not in [str(getattr(e, "value", e)) for e in webhook.events]:
                webhook.enabled, webhook.events = True, [EVENT]
                webhook.update()
            return webhook
    return client.webhooks.add(rg.Webhook(url=url, events=[EVENT], description=DESCRIPTION))


PullIds = Callable[[list[str] | None], Any]  # None: a full pass over every open record


class PullWorker:
    """Pulls queued record ids in small batches, one store opening per batch, retrying when it is locked.

    With ``catch_up`` its first job is one full pull, for records completed while nobody listened."""

    def __init__(self, pull_ids: PullIds, stats: ListenerStats, retry_seconds: float = 1.0, catch_up: bool = False):
        self.pull_ids, self.stats, self.retry_seconds, self.catch_up = pull_ids, stats, retry_seconds, catch_up
        self.queue: queue.Queue[str] = queue.Queue()
        self.attempts: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="argilla-pull", daemon=True)

    def submit(self, record_id: str) -> None:
        self.queue.put(record_id)
        self.stats.pending = self.queue.qsize()

    def _take(self) -> list[str]:
        try:
            first = self.queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < 200:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return list(dict.fromkeys(batch))

    def _record(self, summary: Any) -> None:
        self.stats.pulls += 1
        self.stats.records_pulled += summary.records
        self.stats.decided += summary.approved + summary.rejected + summary.corrected

    def _run(self) -> None:
        if self.catch_up:
            try:
                self._record(self.pull_ids(None))
            except Exception as exc:  # the listener still serves; `triforge review pull` catches up later
                self.stats.last_error = f"catch-up pull failed: {type(exc).__name__}: {exc}"
                log.error(self.stats.last_error)
        while not (self.stop.is_set() and self.queue.empty()):
            batch = self._take()
            if not batch:
                continue
            try:
                summary = self.pull_ids(batch)
            except Exception as exc:  # locked store, Argilla hiccup: keep the ids and try again shortly
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                retry = []
                for rid in batch:
                    self.attempts[rid] = self.attempts.get(rid, 0) + 1
                    if self.attempts[rid] < MAX_ATTEMPTS or isinstance(exc, StoreLockedError):
                        retry.append(rid)
                    else:
                        self.stats.dropped += 1
                        log.error("giving up on %s after %d attempts: %s", rid, MAX_ATTEMPTS, exc)
                for rid in retry:
                    self.queue.put(rid)
                time.sleep(self.retry_seconds)
            else:
                self._record(summary)
                for rid in batch:
                    self.attempts.pop(rid, None)
            self.stats.pending = self.queue.qsize()

    def start(self) -> None:
        self.thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Finish what is queued (within ``timeout``), then stop."""
        self.stop.set()
        self.thread.join(timeout)


def store_puller(home: Path, client: Any, rule: str, min_submitted: int) -> PullIds:
    """A function pulling given ids into the workspace at ``home``, holding its store only meanwhile."""

    def pull_ids(ids: list[str] | None) -> Any:
        with Workspace(home) as ws:
            return pull(ws, client, rule=rule, min_submitted=min_submitted, ids=ids)

    return pull_ids


class Listener:
    """What a delivery needs: the verifier for the webhook's secret, the pull worker and the counters."""

    def __init__(self, secret: str, pull_ids: PullIds, retry_seconds: float = 1.0, catch_up: bool = False) -> None:
        from standardwebhooks import Webhook

        self.verifier = Webhook(secret)
        self.stats = ListenerStats()
        self.worker = PullWorker(pull_ids, self.stats, retry_seconds, catch_up)

    def receive(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """Verify one delivery and queue its record; returns the HTTP status and a short reason."""
        from standardwebhooks import WebhookVerificationError

        try:
            event = self.verifier.verify(body, headers)
        except (WebhookVerificationError, ValueError) as exc:
            self.stats.refused += 1
            return 401, f"refused: {exc}"
        data = event.get("data") or {}
        workspace = ((data.get("dataset") or {}).get("workspace") or {}).get("name")
        if event.get("type") != EVENT or workspace != WORKSPACE or not data.get("external_id"):
            self.stats.ignored += 1
            return 204, ""
        self.stats.deliveries += 1
        self.worker.submit(str(data["external_id"]))
        return 202, "queued"

    def start(self) -> None:
        self.worker.start()

    def close(self) -> None:
        if self.worker.thread.is_alive():
            self.worker.close()


router = APIRouter(tags=["argilla"], route_class=StrictJSONRoute)


def _listener(request: Request) -> Listener:
    listener = getattr(request.app.state, "argilla_listener", None)
    if listener is None:
        raise HTTPException(404, "the Argilla webhook is not enabled on this server")
    return listener


@router.post(PATH, include_in_schema=False)
async def delivery(request: Request) -> Response:
    """Where Argilla posts ``record.completed``; authenticated by the webhook signature, not an API key."""
    listener = _listener(request)
    status, reason = listener.receive(await request.body(), dict(request.headers))
    return Response(reason or None, status_code=status)


@router.get(PATH)
def listener_status(request: Request) -> dict[str, Any]:
    """Deliveries, refusals, records pulled and decided since the listener started."""
    return asdict(_listener(request).stats)


def standalone_app(listener: Listener) -> FastAPI:
    """``triforge review listen``'s app: the webhook route, plus ``GET /health`` with the same counters."""
    app = FastAPI(title="Triforge review listener", docs_url=None, redoc_url=None)
    app.state.argilla_listener = listener
    app.include_router(router)
    app.add_api_route("/health", listener_status, methods=["GET"])
    return app

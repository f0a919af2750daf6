"""Acknowledged means durable, retries never duplicate: a bounded loopback load on a real
``triforge serve`` (several contributor keys, concurrent single and batch submissions, each with an
``Idempotency-Key``) is cut by SIGKILL half-way; the service restarts on the same store, every request
whose answer never arrived is sent again with its key, and every acknowledged one is sent again too.
Some clients are impatient (they hang up before the answer), so some unanswered requests did commit:
their retry must replay the stored answer rather than write again.
Then the store must hold each request's submissions exactly once, every answer given before the crash
must still be true, and a repeated request must get its first answer back byte for byte."""

import json
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from curation.store import Store
from curation.workspace import Workspace
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.service_process import start_service, stop_service

KEYS = 4
SINGLES_PER_KEY = 10
BATCHES_PER_KEY = 3
LINES_PER_BATCH = 4
WORKERS = 6
IMPATIENT_EVERY = 8  # every 8th request hangs up before its answer comes
KILL_AFTER_SHARE = 0.35  # of all requests acknowledged
DEADLINE_S = 90  # the whole load, both halves: a hung server fails the test instead of hanging it


@dataclass
class Request:
    secret: str
    path: str
    body: bytes
    content_type: str
    lines: int
    impatient: bool = False
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: int | None = None  # the answer this request got, before or after the crash
    content: bytes | None = None
    acknowledged_before_crash: bool = False
    sent_before_crash: bool = False
    retried_replayed: bool = False

    def send(self, client: httpx.Client, timeout: float = 60) -> httpx.Response:
        headers = {"X-API-Key": self.secret, "Idempotency-Key": self.idempotency_key, "Content-Type": self.content_type}
        return client.post(self.path, content=self.body, headers=headers, timeout=timeout)

    def submission_ids(self) -> list[str]:
        data = json.loads(self.content or b"null")
        if self.path.endswith("/batch"):
            return [r["submission"]["id"] for r in data["results"] if r["submission"]]
        return [data["id"]]


def _sample(n: int) -> dict[str, str]:
    address = f"$7E{0x2000 + n:04X}"
    return {
        "kind": "debug_dialogue",
        "category": "mode_mismatch",
        "prompt": GOOD_QUESTION.replace("$7E2000", address) + f" (crash case {n})",
        "answer": GOOD_ANSWER.replace("$7E2000", address),
    }


def _requests(secrets: list[str]) -> list[Request]:
    made: list[Request] = []
    n = 0
    for round_ in range(max(SINGLES_PER_KEY, BATCHES_PER_KEY)):
        for secret in secrets:  # interleaved: every key has requests in flight when the service dies
            if round_ < SINGLES_PER_KEY:
                n += 1
                made.append(Request(secret, "/v1/submissions", json.dumps(_sample(n)).encode(), "application/json", 1))
            if round_ < BATCHES_PER_KEY:
                lines = []
                for _ in range(LINES_PER_BATCH):
                    n += 1
                    lines.append(json.dumps(_sample(n)))
                body = "\n".join(lines).encode()
                made.append(Request(secret, "/v1/submissions/batch", body, "application/x-ndjson", LINES_PER_BATCH))
    for request in made[::IMPATIENT_EVERY]:
        request.impatient = True
    return made


def test_sigkill_mid_load_loses_no_acknowledged_submission_and_retries_duplicate_nothing(home):
    started = time.monotonic()
    home.mkdir(parents=True)
    with Workspace(home) as ws:
        secrets = [ws.keys.create(f"contributor-{i}", "contributor")[1] for i in range(KEYS)]
    requests = _requests(secrets)
    kill_at = int(len(requests) * KILL_AFTER_SHARE)

    proc, base = start_service(home, "--requests-per-minute", "1000000")
    killed = threading.Event()
    acknowledged = threading.Semaphore(0)

    def first_send(request: Request) -> None:
        if killed.is_set():
            return  # never sent: it goes out after the restart like any unanswered request
        request.sent_before_crash = True
        try:
            response = request.send(client, timeout=0.02 if request.impatient else 60)
        except httpx.HTTPError:
            return  # hung up, or the connection died with the service: no answer, so the client will retry
        request.status, request.content = response.status_code, response.content
        request.acknowledged_before_crash = response.is_success
        acknowledged.release()

    limits = httpx.Limits(max_connections=WORKERS)
    with httpx.Client(base_url=base, timeout=60, limits=limits) as client, ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(first_send, r) for r in requests]
        for _ in range(kill_at):
            assert acknowledged.acquire(timeout=DEADLINE_S), "the service stopped answering before the kill"
        os.kill(proc.pid, signal.SIGKILL)  # mid-load: other requests are validating or committing now
        killed.set()
        proc.wait(timeout=30)
        for future in futures:
            future.result(timeout=DEADLINE_S)

    before = [r for r in requests if r.acknowledged_before_crash]
    answers_before = {id(r): (r.status, r.content) for r in before}
    unanswered = [r for r in requests if r.status is None]
    in_flight = [r for r in unanswered if r.sent_before_crash and not r.impatient]
    hung_up = [r for r in unanswered if r.sent_before_crash and r.impatient]
    assert all(r.status in (200, 201) for r in requests if r.status is not None), [r.status for r in requests]
    assert len(before) >= kill_at and unanswered, "the kill came too late to cut anything"

    proc, base = start_service(home, "--requests-per-minute", "1000000")
    try:
        with httpx.Client(base_url=base, timeout=60, limits=httpx.Limits(max_connections=WORKERS)) as client:

            def retry(request: Request) -> None:
                response = request.send(client)
                assert response.status_code in (200, 201), response.text
                request.status, request.content = response.status_code, response.content
                request.retried_replayed = response.headers.get("Idempotent-Replayed") == "true"

            def repeat(request: Request) -> tuple[int, bytes, str | None]:
                response = request.send(client)
                return response.status_code, response.content, response.headers.get("Idempotent-Replayed")

            with ThreadPoolExecutor(WORKERS) as pool:
                list(pool.map(retry, unanswered))
                repeats = list(pool.map(repeat, requests))
    finally:
        stop_service(proc)

    # A repeat of any request - answered before the crash or only after - is its first answer, replayed.
    for request, (status, content, replayed) in zip(requests, repeats, strict=True):
        assert (status, content, replayed) == (request.status, request.content, "true")
    for request in before:
        assert answers_before[id(request)] == (request.status, request.content)

    with Store(home / "triforge.duckdb", read_only=True) as store:
        stored = [r[0] for r in store.con.execute("SELECT id FROM submissions").fetchall()]
        revisions = store.con.execute("SELECT count(*) FROM revisions").fetchone()[0]
        records = store.con.execute("SELECT count(*) FROM idempotency_records").fetchone()[0]
        per_key = dict(store.con.execute("SELECT key_id, count(*) FROM idempotency_records GROUP BY key_id").fetchall())

    answered_ids = [i for r in requests for i in r.submission_ids()]
    acknowledged_ids = {i for r in before for i in r.submission_ids()}
    lines = sum(r.lines for r in requests)
    duplicates = len(stored) - len(set(stored)) + max(0, len(stored) - lines)
    replayed = sum(r.retried_replayed for r in unanswered)
    print(
        f"\ncrash test: {len(requests)} requests ({lines} submissions) from {KEYS} keys; SIGKILL after "
        f"{len(before)} acknowledged; unanswered: {len(in_flight)} in flight at the kill, {len(hung_up)} hung up "
        f"early, {len(unanswered) - len(in_flight) - len(hung_up)} not yet sent; {len(unanswered)} retried after "
        f"restart ({replayed} had committed and were replayed, {len(unanswered) - replayed} ran afresh); "
        f"{len(requests)} repeats all replayed; stored {len(stored)} submissions, {duplicates} duplicates; "
        f"{time.monotonic() - started:.0f} s"
    )
    assert replayed >= 1  # the first request hung up long before the kill: it committed, and was not redone
    assert acknowledged_ids <= set(stored)  # acknowledged means durable
    assert sorted(stored) == sorted(answered_ids)  # exactly the answered submissions, each once
    assert len(stored) == lines and duplicates == 0
    assert revisions == lines  # every sample is new content: one revision each, none written twice
    assert records == len(requests) and sorted(per_key.values()) == [len(requests) // KEYS] * KEYS
    assert time.monotonic() - started < 120

"""One contributor cannot slow another, against a real ``triforge serve``: several keys send code that
loops forever while ``/healthz`` is polled and an honest key submits. Health answers stay fast, the
honest submissions are acknowledged while the loops are still being judged, and a key that keeps
sending loops runs out of judging seconds (429 with Retry-After). Slow sockets are closed."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from curation.workspace import Workspace
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.service_process import start_service, stop_service


def loop_answer(n: int) -> str:
    """An endless assembly-time loop, different each time (a repeated snippet is answered from the cache)."""
    return f"**Bug: endless loop**\n\nThe loop never exits.\n\n```asm\ndb ${n:04X}\nwhile 1\nendwhile\n```\n"


@pytest.fixture
def served(home):
    with Workspace(home) as ws:
        attackers = [ws.keys.create(f"loop-{i}", "contributor")[1] for i in range(3)]
        honest = ws.keys.create("honest", "contributor")[1]
    proc, base = start_service(home, "--head-timeout", "1")
    yield base, attackers, honest
    stop_service(proc)


def test_endless_loops_from_several_keys_slow_no_one_else(served):
    base, attackers, honest = served
    stop = threading.Event()
    health_ms: list[float] = []
    attacker_codes: list[int] = []
    loops_done_at: list[float] = []

    def poll_health() -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while not stop.is_set():
                started = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                health_ms.append((time.perf_counter() - started) * 1000)
                time.sleep(0.05)

    def attack(secret: str, first: int, n: int) -> None:
        with httpx.Client(base_url=base, timeout=60, headers={"X-API-Key": secret}) as client:
            for i in range(first, first + n):
                body = {"kind": "debug_dialogue", "prompt": f"{GOOD_QUESTION} ({i})", "answer": loop_answer(i)}
                attacker_codes.append(client.post("/v1/submissions", json=body).status_code)
        loops_done_at.append(time.monotonic())

    threads = [threading.Thread(target=poll_health)]
    threads += [
        threading.Thread(target=attack, args=(secret, 100 * k + 10 * j, 8))
        for k, secret in enumerate(attackers)
        for j in range(2)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the loops are in the assembler now
    honest_times = []
    with httpx.Client(base_url=base, timeout=60, headers={"X-API-Key": honest}) as client:
        for i in range(3):
            started = time.monotonic()
            body = {"kind": "debug_dialogue", "prompt": f"{GOOD_QUESTION} honest {i}", "answer": GOOD_ANSWER}
            answer = client.post("/v1/submissions", json=body)
            assert answer.status_code == 201, answer.text
            assert answer.json()["valid"], answer.json()
            honest_times.append((started, time.monotonic()))
    for thread in threads[1:]:
        thread.join(timeout=120)
    stop.set()
    threads[0].join(timeout=10)

    print(
        f"healthz max {max(health_ms):.1f} ms over {len(health_ms)}; honest "
        f"{[round(end - start, 2) for start, end in honest_times]} s; attackers {sorted(attacker_codes)}"
    )
    assert len(health_ms) > 20
    # A stalled event loop would hold /healthz for a whole judging (2 s). On two busy cores a single
    # answer may still cross 100 ms while the sandboxes start (CI saw 100.2 ms once), so the typical
    # answer is held to 100 ms and the worst to well under one judging.
    ordered = sorted(health_ms)
    assert ordered[int(len(ordered) * 0.95)] < 100, ordered[-5:]
    assert ordered[-1] < 1000, ordered[-5:]
    # Acknowledged while the loops were still being judged, each in about one judging's time at most.
    assert honest_times[-1][1] < max(loops_done_at)
    assert max(end - start for start, end in honest_times) < 2.5, honest_times
    # Each loop costs its key 2 s of a 10-second budget: every key is refused (429) long before its 16 run.
    assert attacker_codes.count(201) <= 3 * 8 and attacker_codes.count(429) >= 3 * 6, attacker_codes


def test_a_connection_that_never_finishes_its_headers_is_closed(served):
    base = served[0]
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 10:
            try:
                sock.sendall(b"X-Slow: 1\r\n")  # a header every 0.2 s: it never ends
                time.sleep(0.2)
            except OSError:
                closed = True
                break
        assert closed and time.monotonic() - started < 3
    assert httpx.get(f"{base}/healthz").status_code == 200  # everyone else is still served

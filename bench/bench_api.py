"""A bounded load on loopback: POST /v1/submissions through a real ``triforge serve`` process.

Each submission is new content, so every request validates (Asar included), dedup-checks and
writes. Baseline in the same run: GET /healthz on the same server (HTTP + auth-free routing only).
The load is bounded by count and by time, and stays on 127.0.0.1.

Two phases. *Burst*: ``--requests`` as fast as ``--concurrency`` clients can send them. *Sustained*:
``--keys`` contributor keys each sending ``--rate`` requests/s for ``--duration`` seconds on a fixed
schedule (open loop: a slow answer does not delay the next send, and latency counts from the moment
a request was due, so queueing shows), every submission with an Idempotency-Key. It prints p50/p95/p99
and acknowledged/lost/duplicated: lost requests (no answer, or a 5xx) are retried once with their
key; afterwards the store is opened and its submissions from those keys are counted, so a retry that
wrote twice would show as duplicated. The health-check baseline runs on the same schedule first.

A third, *isolation*: health checks and an honest contributor alone (the baseline), then the same
while ``--attackers`` keys keep endless-loop submissions in flight (``while 1`` in the asm block).

    python bench/bench_api.py [--requests 200] [--concurrency 4] [--max-seconds 120]
                              [--keys 4] [--rate 1.5] [--duration 20] [--attackers 3] [--attack-seconds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.machine import cpu_model
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION

TRIFORGE = str(Path(sys.executable).with_name("triforge"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(call, n: int, concurrency: int, max_seconds: float) -> tuple[list[float], float, int]:
    deadline = time.monotonic() + max_seconds
    latencies: list[float] = []
    errors = 0

    def one(i: int) -> tuple[float, int] | None:
        if time.monotonic() > deadline:
            return None
        start = time.perf_counter()
        status = call(i)
        return time.perf_counter() - start, status

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for result in pool.map(one, range(n)):
            if result is None:
                continue
            latencies.append(result[0])
            errors += result[1] >= 400
    return latencies, time.perf_counter() - start, errors


@dataclass
class Outcome:
    key: str
    due: float  # when the schedule said to send it (perf_counter)
    body: dict | None = None
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    latency: float | None = None  # from due to the first answer; None when none came
    status: int | None = None
    retried: bool = False

    @property
    def answered(self) -> bool:
        return self.status is not None and self.status < 500


Send = Callable[[Outcome], int]


def sustained(send: Send, secrets: list[str], rate: float, seconds: float, body=None) -> list[Outcome]:
    """Every key sends ``rate`` requests/s for ``seconds`` on a fixed schedule, however slow the answers."""
    interval = 1.0 / rate
    start = time.perf_counter() + 0.2
    # Keys are offset within one interval, so their requests do not all fall due at the same instant.
    schedule = sorted(
        (start + i * interval + k * interval / len(secrets), k)
        for k in range(len(secrets))
        for i in range(int(seconds * rate))
    )
    outcomes = [Outcome(secrets[k], due, body(n) if body else None) for n, (due, k) in enumerate(schedule)]

    def one(outcome: Outcome) -> None:
        try:
            outcome.status = send(outcome)
            outcome.latency = time.perf_counter() - outcome.due
        except httpx.HTTPError:
            pass  # lost: no answer

    with ThreadPoolExecutor(max(8, 4 * len(secrets))) as pool:
        for outcome in outcomes:
            wait = outcome.due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            pool.submit(one, outcome)
    return outcomes


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    if len(latencies) < 2:
        only = latencies[0] if latencies else float("nan")
        return only, only, only
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return q[49], q[94], q[98]


def report_sustained(name: str, outcomes: list[Outcome], seconds: float, duplicated: int | str = "") -> None:
    """Latency and acknowledgements of first attempts; lost ones were retried once afterwards."""
    first = [o for o in outcomes if o.latency is not None and not o.retried]
    p50, p95, p99 = percentiles([o.latency for o in first])
    lost = sum(o.retried for o in outcomes)
    recovered = sum(o.retried and o.answered for o in outcomes)
    print(
        f"{name:<28}{len(outcomes):>7}{len(first) / seconds:>8.1f}{p50 * 1000:>9.0f}{p95 * 1000:>9.0f}"
        f"{p99 * 1000:>9.0f}{len(first):>6}{lost:>6}{recovered:>10}{duplicated:>6}"
    )


def report(name: str, latencies: list[float], seconds: float, errors: int) -> float:
    q = statistics.quantiles(latencies, n=100)
    rate = len(latencies) / seconds
    print(f"{name:<28}{len(latencies):>9}{rate:>10.1f}{q[49] * 1000:>10.1f}{q[98] * 1000:>10.1f}{errors:>8}")
    return rate


def create_key(env: dict[str, str], name: str) -> str:
    made = subprocess.run(
        [TRIFORGE, "keys", "create", "--role", "contributor", "--name", name, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(made.stdout)["key"]


def submission(i: int) -> dict[str, str]:
    return {
        "kind": "debug_dialogue",
        "category": "mode_mismatch",
        "prompt": GOOD_QUESTION.replace("$7E2000", f"$7E{i % 0x10000:04X}") + f" (case {i})",
        "answer": GOOD_ANSWER.replace("$7E2000", f"$7E{i % 0x10000:04X}"),
    }


def stored_from(home: Path, secrets: list[str]) -> int:
    """Submissions the store holds from these keys (key ids are the secrets' first 11 characters)."""
    from curation.resources.keys import ID_LENGTH
    from curation.workspace import Workspace

    with Workspace(home, read_only=True) as ws:
        return sum(len(ws.submissions.of_key(secret[:ID_LENGTH])) for secret in secrets)


def burst(client: httpx.Client, key: str, args: argparse.Namespace) -> None:
    headers = {"X-API-Key": key}

    def submit(i: int) -> int:
        return client.post("/v1/submissions", json=submission(i), headers=headers).status_code

    print(f"{'request':<28}{'count':>9}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    health = load(lambda i: client.get("/healthz").status_code, args.requests, args.concurrency, args.max_seconds)
    base_rate = report("GET /healthz (baseline)", *health)
    sub_rate = report("POST /v1/submissions", *load(submit, args.requests, args.concurrency, args.max_seconds))
    print(
        f"a submission costs {base_rate / sub_rate:.0f}x a health check "
        "(validation with Asar, MinHash dedup check, DuckDB write)"
    )


def sustained_phase(base: str, secrets: list[str], args: argparse.Namespace) -> tuple[list[Outcome], list[Outcome]]:
    """The health-check baseline on the schedule, then submissions on it; lost ones retried once."""
    limits = httpx.Limits(max_connections=max(8, 4 * len(secrets)))
    with httpx.Client(base_url=base, timeout=30, limits=limits) as client:

        def health(_: Outcome) -> int:
            return client.get("/healthz").status_code

        def post(o: Outcome) -> int:
            headers = {"X-API-Key": o.key, "Idempotency-Key": o.idempotency_key}
            return client.post("/v1/submissions", json=o.body, headers=headers).status_code

        baseline = sustained(health, secrets, args.rate, args.duration)
        offset = 1_000_000  # content unlike the burst phase's
        outcomes = sustained(post, secrets, args.rate, args.duration, lambda n: submission(offset + n))
        for outcome in outcomes:
            if not outcome.answered:  # the client's retry: same key, same body
                outcome.retried = True
                try:
                    outcome.status = post(outcome)
                except httpx.HTTPError:
                    outcome.status = None
    return baseline, outcomes


def loop_submission(i: int) -> dict[str, str]:
    """Code whose assembly never ends (``while 1``), different each time so no cache answers it."""
    code = f"db ${i % 0x10000:04X}\nwhile 1\nendwhile"
    return {"kind": "debug_dialogue", "prompt": f"{GOOD_QUESTION} (loop {i})",
            "answer": f"**Bug: endless loop**\n\nThe loop never ends.\n\n```asm\n{code}\n```\n"}  # fmt: skip


def calm_and_attacked(base: str, honest: str, attackers: list[str], seconds: float) -> None:
    """Health checks every 50 ms and one honest submission a second, first alone (the baseline), then
    while ``attackers`` each keep two endless-loop submissions in flight: what a contributor who sends
    only loops costs everyone else."""
    offset = [2_000_000]

    def run(attack: bool) -> tuple[list[float], list[float], list[int]]:
        stop = time.monotonic() + seconds
        health: list[float] = []
        honest_ms: list[float] = []
        codes: list[int] = []

        def poll() -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                while time.monotonic() < stop:
                    started = time.perf_counter()
                    client.get("/healthz")
                    health.append(time.perf_counter() - started)
                    time.sleep(0.05)

        def submit_honestly() -> None:
            with httpx.Client(base_url=base, timeout=60, headers={"X-API-Key": honest}) as client:
                while time.monotonic() < stop:
                    offset[0] += 1
                    started = time.perf_counter()
                    assert client.post("/v1/submissions", json=submission(offset[0])).status_code == 201
                    honest_ms.append(time.perf_counter() - started)
                    time.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))

        def attack_with(secret: str, lane: int) -> None:
            with httpx.Client(base_url=base, timeout=60, headers={"X-API-Key": secret}) as client:
                n = 0
                while time.monotonic() < stop:
                    n += 1
                    body = loop_submission(hash((secret, lane, n)) & 0xFFFFFF)
                    codes.append(client.post("/v1/submissions", json=body).status_code)

        threads = [threading.Thread(target=poll), threading.Thread(target=submit_honestly)]
        if attack:
            threads += [threading.Thread(target=attack_with, args=(a, lane)) for a in attackers for lane in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return health, honest_ms, codes

    print(
        f"\nisolation: {len(attackers)} keys each keep 2 endless-loop submissions in flight for {seconds:g} s, "
        "beside health checks every 50 ms and one honest submission a second"
    )
    print(f"{'phase':<40}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    calm = run(attack=False)
    attacked = run(attack=True)
    for label, (health, honest_ms, _) in (("calm (baseline)", calm), ("under attack", attacked)):
        for name, values in (("GET /healthz", health), ("POST /v1/submissions", honest_ms)):
            p50, _, p99 = percentiles(values)
            row = f"{name}, {label}"
            print(f"{row:<40}{len(values):>9}{p50 * 1000:>9.0f}{p99 * 1000:>9.0f}{max(values) * 1000:>9.0f}")
    codes = attacked[2]
    print(
        f"attackers: {codes.count(201) + codes.count(200)} judged (each up to the 2 s assembler timeout), "
        f"{codes.count(429)} refused with 429 once their judging budget was spent, {len(codes)} sent"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="burst phase requests (0 skips it)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--keys", type=int, default=4, help="sustained phase: contributor keys")
    parser.add_argument("--rate", type=float, default=1.5, help="sustained phase: requests/s per key")
    parser.add_argument("--duration", type=float, default=20, help="sustained phase: seconds (0 skips it)")
    parser.add_argument("--attackers", type=int, default=3, help="isolation phase: keys sending endless loops")
    parser.add_argument("--attack-seconds", type=float, default=15, help="isolation phase: seconds (0 skips it)")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TRIFORGE_HOME": home}
        key = create_key(env, "bench")
        secrets = [create_key(env, f"sustained-{k}") for k in range(args.keys)] if args.duration else []
        honest = create_key(env, "honest") if args.attack_seconds else ""
        attackers = [create_key(env, f"loops-{k}") for k in range(args.attackers)] if args.attack_seconds else []
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        baseline: list[Outcome] = []
        outcomes: list[Outcome] = []
        with open(Path(home) / "serve.log", "w") as log:
            server = subprocess.Popen(
                [TRIFORGE, "serve", "--port", str(port), "--requests-per-minute", "1000000"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                for _ in range(240):
                    try:
                        if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.5)
                if args.requests:
                    limits = httpx.Limits(max_connections=args.concurrency)
                    with httpx.Client(base_url=base, timeout=30, limits=limits) as client:
                        burst(client, key, args)
                if args.duration:
                    baseline, outcomes = sustained_phase(base, secrets, args)
                if args.attack_seconds:
                    calm_and_attacked(base, honest, attackers, args.attack_seconds)
            finally:
                server.terminate()
                server.wait(timeout=30)
        if args.duration:
            # Counted in the store itself, after the service stopped: a retry that wrote twice shows here.
            stored = stored_from(Path(home), secrets)
            acknowledged = sum(o.answered for o in outcomes)
            offered = args.keys * args.rate
            print(
                f"\nsustained: {args.keys} keys x {args.rate:g} req/s for {args.duration:g} s (offered {offered:g}/s); "
                "latency counts from when each request was due"
            )
            print(
                f"{'request':<28}{'sent':>7}{'ack/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'ack':>6}{'lost':>6}"
                f"{'recovered':>10}{'dup':>6}"
            )
            report_sustained("GET /healthz (baseline)", baseline, args.duration)
            report_sustained("POST /v1/submissions", outcomes, args.duration, duplicated=stored - acknowledged)
            print(f"stored {stored} submissions for {acknowledged} acknowledged requests (after retries)")


if __name__ == "__main__":
    main()

"""A bounded load on loopback: POST /v1/submissions through a real ``triforge serve`` process.

Each submission is new content, so every request validates (Asar included), dedup-checks and
writes. Baseline in the same run: GET /healthz on the same server (HTTP + auth-free routing only).
The load is bounded by count and by time, and stays on 127.0.0.1.

    python bench/bench_api.py [--requests 200] [--concurrency 4] [--max-seconds 120]
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
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def report(name: str, latencies: list[float], seconds: float, errors: int) -> float:
    q = statistics.quantiles(latencies, n=100)
    rate = len(latencies) / seconds
    print(f"{name:<28}{len(latencies):>9}{rate:>10.1f}{q[49] * 1000:>10.1f}{q[98] * 1000:>10.1f}{errors:>8}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TRIFORGE_HOME": home}
        made = subprocess.run(
            [TRIFORGE, "keys", "create", "--role", "contributor", "--name", "bench", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = json.loads(made.stdout)["key"]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
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
                client = httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=args.concurrency))
                headers = {"X-API-Key": key}

                def submit(i: int) -> int:
                    body = {
                        "kind": "debug_dialogue",
                        "category": "mode_mismatch",
                        "prompt": GOOD_QUESTION.replace("$7E2000", f"$7E{i % 0x10000:04X}") + f" (case {i})",
                        "answer": GOOD_ANSWER.replace("$7E2000", f"$7E{i % 0x10000:04X}"),
                    }
                    return client.post("/v1/submissions", json=body, headers=headers).status_code

                print(f"{'request':<28}{'count':>9}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
                base_rate = report(
                    "GET /healthz (baseline)",
                    *load(
                        lambda i: client.get("/healthz").status_code, args.requests, args.concurrency, args.max_seconds
                    ),
                )
                sub_rate = report(
                    "POST /v1/submissions", *load(submit, args.requests, args.concurrency, args.max_seconds)
                )
                print(
                    f"a submission costs {base_rate / sub_rate:.0f}x a health check "
                    "(validation with Asar, MinHash dedup check, DuckDB write)"
                )
            finally:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    main()

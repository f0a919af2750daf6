"""Teacher batches against an endpoint with a hosted API's latency: what concurrency buys, what the ledger costs.

A local OpenAI-compatible stand-in answers every request after ``--latency`` seconds (a hosted model
takes seconds; the default is scaled down so the bench is quick). The same batch runs with concurrency 1
(the baseline, measured in the same run) and with ``--concurrency``; then once more, resumed, to show
that a finished batch costs no request. Everything stays on 127.0.0.1.

    python bench/bench_teacher.py [--n 40] [--latency 0.25] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from fastapi import FastAPI, Request

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.workspace import Workspace
from generators.teacher.batch import BatchSettings
from generators.teacher.clients import OpenAICompatible
from generators.teacher.tasks import draw_tasks
from pipelines.generate import propose_with_model
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.local_http import chat_completion, serve_in_thread


def stand_in(latency: float) -> tuple[FastAPI, list[int]]:
    app, calls = FastAPI(), [0]

    @app.post("/v1/chat/completions")
    async def complete(request: Request):
        body = await request.json()
        calls[0] += 1
        await asyncio.sleep(latency)
        prompt = body["messages"][1]["content"]
        text = json.dumps({"question": f"{GOOD_QUESTION}\n({prompt[:60]})", "answer": GOOD_ANSWER})
        return chat_completion(body["model"], text, 400, 600)

    return app, calls


def run(base: str, n: int, concurrency: int, home: Path) -> tuple[float, dict]:
    client = OpenAICompatible("bench-model", base_url=f"{base}/v1", api_key="local")
    settings = BatchSettings(concurrency=concurrency, price_in_per_mtok=2.5, price_out_per_mtok=10)
    with Workspace(home) as ws:
        start = time.perf_counter()
        summary = propose_with_model(ws, client, draw_tasks(n, 0, kinds=("debug_dialogue",)), settings)
        return time.perf_counter() - start, summary.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    app, calls = stand_in(args.latency)
    rows = []
    with serve_in_thread(app) as base:
        for label, concurrency, home in (
            ("concurrency 1 (baseline)", 1, Path(tempfile.mkdtemp())),
            (f"concurrency {args.concurrency}", args.concurrency, Path(tempfile.mkdtemp())),
        ):
            before = calls[0]
            seconds, summary = run(base, args.n, concurrency, home)
            rows.append((label, seconds, calls[0] - before, summary))
        before = calls[0]
        seconds, summary = run(base, args.n, args.concurrency, home)  # the same batch again: resumed
        rows.append(("resume a finished batch", seconds, calls[0] - before, summary))
    baseline = rows[0][1]
    print(f"{args.n} proposals, {args.latency:.2f} s per request (includes validation + dedup of the batch)\n")
    print(f"{'run':28} {'seconds':>8} {'req':>5} {'proposals/s':>12} {'vs baseline':>12} {'batch $':>8}")
    for label, seconds, requests, summary in rows:
        print(
            f"{label:28} {seconds:8.2f} {requests:5d} {summary['stored'] / seconds:12.2f} "
            f"{baseline / seconds:11.1f}x {summary['cost_usd']:8.4f}"
        )


if __name__ == "__main__":
    main()

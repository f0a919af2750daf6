"""Argilla push and pull on thousands of records, against the real local stack (argilla-server + noida-db).

Starts its own stack in a temporary home (as ``triforge labeling up`` does), imports ``--n`` distinct
dialogues (one shared code block, so the assembler runs once), validates them, then measures:

- push: four runs of ``--chunk`` records each - the stock argilla-server with batches of 100 (the
  baseline, same run: push before this change), the stock server with batches of 500, then the server
  restarted with ``labeling/argilla/server_app.py``'s patches, with batches of 100 and of 500 (what
  ``review push`` does now) - records per second for each. The patched runs go last, against the larger
  index, so the comparison does not flatter them;
- pull: one reviewer's submitted response on every record (posted in bulk, not timed), then the
  baseline - reading every record with its responses through the SDK's iterator, which is what a pull
  that re-reads everything costs - against ``triforge review pull`` (open records by id, a page per
  request, and every decision written to the store);
- a second pull once everything is decided: it reads nothing, where a re-reading pull reads all again.

    python bench/bench_review.py [--chunk 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.importers import import_file
from curation.validators.runner import validate_samples
from curation.workspace import Workspace
from labeling.argilla.stack import LabelingStack
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.local_http import free_port


def write_dialogues(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            question = f"{GOOD_QUESTION}\n\n(ticket #{i}: seen in room {i % 97}, frame {i * 7})"
            messages = [{"role": "user", "content": question}, {"role": "assistant", "content": GOOD_ANSWER}]
            handle.write(json.dumps({"messages": messages}) + "\n")
    return path


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def submit_responses(client, dataset, creds, username: str) -> int:
    """One annotator approves every record (Argilla's bulk response endpoint, 100 a request)."""
    import argilla as rg
    import httpx

    from labeling.argilla.datasets import ensure_workspace

    password = "Bench-annotator-123"
    user = client.users(username) or rg.User(username=username, password=password, role="annotator").create()
    ensure_workspace(client).add_user(user)
    token = httpx.post(f"{creds.api_url}/api/v1/token", data={"username": username, "password": password})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    uuids = [str(r._model.id) for r in dataset.records()]
    with httpx.Client(base_url=creds.api_url, headers=headers, timeout=120) as http:
        for start in range(0, len(uuids), 100):
            items = [
                {"record_id": u, "status": "submitted", "values": {"decision": {"value": "approve"}}}
                for u in uuids[start : start + 100]
            ]
            http.post("/api/v1/me/responses/bulk", json={"items": items}).raise_for_status()
    return len(uuids)


PUSH_RUNS = (  # (server, batch size), in the order run: the stock server's rows first, then a restart
    ("stock", 100),  # the baseline: what push did before the server patches and batches of 500
    ("stock", 500),
    ("patched", 100),
    ("patched", 500),  # what `review push` does now
)


def start(stack: LabelingStack, port: int, server: str):
    """(Re)start the stack's argilla-server, stock or with labeling/argilla/server_app.py's patches."""
    os.environ.pop("TRIFORGE_ARGILLA_STOCK", None)
    if server == "stock":
        os.environ["TRIFORGE_ARGILLA_STOCK"] = "1"
    stack.down(quiet=True)
    seconds, creds = timed(lambda: stack.up(port=port, say=lambda _: None))
    print(f"{server} argilla-server up in {seconds:.1f} s ({creds.api_url})")
    from labeling.argilla.client import ArgillaTarget, connect

    return creds, connect(target=ArgillaTarget(creds.api_url, creds.api_key))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=1000, help="records pushed by each of the four push runs")
    args = parser.parse_args()
    n = args.chunk * len(PUSH_RUNS)
    home = Path(tempfile.mkdtemp(prefix="bench-review-"))
    stack, port = LabelingStack(home), free_port()
    from labeling.argilla.pull import pull
    from labeling.argilla.push import push

    rows: list[tuple[str, int, float, str]] = []
    try:
        with Workspace(home) as ws:
            seconds, _ = timed(lambda: import_file(ws, write_dialogues(home / "bench.jsonl", n)))
            seconds_v, _ = timed(lambda: validate_samples(ws))
            print(f"imported {n} dialogues in {seconds:.1f} s, validated in {seconds_v:.1f} s")
            ids = ws.samples.all_ids()
        server = None
        for k, (wanted, batch) in enumerate(PUSH_RUNS):
            if wanted != server:
                creds, client = start(stack, port, wanted)
                server = wanted
            chunk = ids[k * args.chunk : (k + 1) * args.chunk]
            where = f"id in ({', '.join(json.dumps(i) for i in chunk)})"
            with Workspace(home) as ws:
                seconds, done = timed(push, ws, client, where=where, batch_size=batch, vectors=False)
            assert done.sent == len(chunk), done
            rows.append((f"push, {server} server, batches of {batch}", done.sent, seconds, "push"))

        dataset = client.datasets(name="triforge-debug-dialogue", workspace=client.workspaces("triforge"))
        seconds, answered = timed(lambda: submit_responses(client, dataset, creds, "bench-reviewer"))
        print(f"{answered} responses submitted in {seconds:.1f} s (setup, not measured)")
        seconds, read = timed(lambda: sum(1 for _ in dataset.records(with_responses=True)))
        rows.append(("re-read every record via SDK (baseline)", read, seconds, "pull"))
        with Workspace(home) as ws:
            seconds, first_pull = timed(lambda: pull(ws, client))
            rows.append(("review pull (reads + decides)", first_pull.records, seconds, "pull"))
            seconds, second = timed(lambda: pull(ws, client))
            rows.append(("review pull again, all decided", second.records, seconds, "again"))
        assert first_pull.approved == n, first_pull
    finally:
        stack.down()

    print(f"\n{'run':44} {'records':>8} {'seconds':>8} {'records/s':>10} {'vs baseline':>12}")
    pushes = len(PUSH_RUNS)
    for label, count, seconds, group in rows[: pushes + 2]:
        base = rows[0] if group == "push" else rows[pushes]
        ratio = (count / seconds) / (base[1] / base[2])
        print(f"{label:44} {count:8d} {seconds:8.2f} {count / seconds:10.1f} {ratio:11.1f}x")
    label, count, seconds, _ = rows[-1]
    print(f"{label:44} {count:8d} {seconds:8.2f} {'':>10} {rows[pushes][2] / seconds:11.0f}x less time than re-reading")


if __name__ == "__main__":
    main()

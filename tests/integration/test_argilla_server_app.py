"""The embedded argilla-server runs with labeling/argilla/server_app.py's two bulk-upsert patches:
they are in force, and what a client sees is unchanged - bad metadata and suggestions are still
refused, and a webhook subscribed to record events is still called for each record logged."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.local_http import free_port


@pytest.fixture
def client(argilla, monkeypatch):
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from labeling.argilla.client import ArgillaTarget, connect

    return connect(target=ArgillaTarget(creds.api_url, creds.api_key))


def _dataset(client, name: str):
    import argilla as rg

    from labeling.argilla.datasets import ensure_workspace

    settings = rg.Settings(
        fields=[rg.TextField(name="text")],
        questions=[rg.LabelQuestion(name="verdict", labels=["approve", "reject"])],
        metadata=[rg.IntegerMetadataProperty(name="steps", min=0, max=10), rg.TermsMetadataProperty(name="kind")],
    )
    return rg.Dataset(name=name, workspace=ensure_workspace(client), settings=settings, client=client).create()


def test_the_server_runs_with_both_patches(argilla):
    stack, _ = argilla
    applied = [line for line in stack.logs("server", 1_000_000).splitlines() if "patches applied" in line]
    assert applied and applied[-1].endswith("patches applied: record-events, settings-adapters")


def test_metadata_and_suggestions_are_still_validated_per_record(client):
    import argilla as rg

    dataset = _dataset(client, "server-app-validation")
    good = rg.Record(id="ok-1", fields={"text": "LDA #$00"}, metadata={"steps": 3, "kind": "asm"},
                     suggestions=[rg.Suggestion("verdict", "approve")])  # fmt: skip
    dataset.records.log([good])
    assert [r.id for r in dataset.records()] == ["ok-1"]
    out_of_range = rg.Record(id="bad-1", fields={"text": "STA $2100"}, metadata={"steps": 50})
    with pytest.raises(Exception, match="steps"):
        dataset.records.log([out_of_range])
    unknown_label = rg.Record(id="bad-2", fields={"text": "STA $2100"}, suggestions=[rg.Suggestion("verdict", "maybe")])
    with pytest.raises(Exception, match="maybe"):
        dataset.records.log([unknown_label])
    assert [r.id for r in dataset.records()] == ["ok-1"]


def test_a_webhook_subscribed_to_record_events_is_still_called_per_record(client):
    import argilla as rg

    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dataset = _dataset(client, "server-app-webhooks")
    hook = client.webhooks.add(rg.Webhook(url=f"http://127.0.0.1:{server.server_port}/hook", events=["record.created"]))
    try:
        dataset.records.log([rg.Record(id=f"w-{i}", fields={"text": f"JSR ${i:04X}"}) for i in range(3)])
        deadline = time.monotonic() + 60
        while len(received) < 3 and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        hook.delete()
        server.shutdown()
    created = sorted(e["data"]["external_id"] for e in received if e["type"] == "record.created")
    assert created == ["w-0", "w-1", "w-2"]

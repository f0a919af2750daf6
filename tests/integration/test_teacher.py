"""Teacher and bootstrap proposers over real clients: ``openai`` against ``triforge serve-model`` (a real
local model) and against a stand-in for a paid API's failure modes; ``google-genai`` against a local
endpoint that speaks Gemini's REST shape. Nothing here reaches the internet."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from typer.testing import CliRunner

from curation.store import Store
from curation.workspace import Workspace
from tests.factories import TRIFORGE, PaidApiStandIn, good_teacher_reply
from tests.local_http import serve_in_thread
from triforge.cli import app


def _generate(*args: str) -> dict:
    result = CliRunner().invoke(app, ["generate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_teacher_retries_repairs_accounts_and_stores_with_provenance(home):
    stand_in = PaidApiStandIn(["429", "500", "prose"])
    with serve_in_thread(stand_in.app) as base:
        summary = _generate(
            "teacher", "--base-url", f"{base}/v1", "--model", "gpt-test", "--n", "4", "--seed", "7",
            "--concurrency", "1", "--price-in", "2.5", "--price-out", "10",
        )  # fmt: skip
    # 4 tasks; the first took 429 + 500 + a prose reply, then one repair: 4 + 2 retries + 1 repair = 7 calls.
    assert len(stand_in.calls) == 7 and summary["api_calls"] == 7
    assert summary["stored"] == 4 and summary["failed"] == 0 and summary["tasks"] == 4
    # The stand-in answers every task with a debug dialogue: the quest task's proposal fails the quest checks.
    assert summary["valid"] == 3 and summary["rejected_by_validators"] == 1
    repair = next(c for c in stand_in.calls if len(c["messages"]) == 4)
    assert "not valid JSON" in repair["messages"][-1]["content"]
    assert all(c["response_format"] == {"type": "json_object"} for c in stand_in.calls)
    # Five replies with usage were paid for: 5 x (100 in, 50 out) at $2.5 / $10 per million tokens.
    assert (summary["prompt_tokens"], summary["completion_tokens"]) == (500, 250)
    assert summary["cost_usd"] == pytest.approx(5 * (100 * 2.5 + 50 * 10) / 1e6)
    with Store(home / "triforge.duckdb", read_only=True) as store:
        rows = store.con.execute(
            "SELECT source_type, source_name, kind, metadata FROM samples ORDER BY metadata->>'$.teacher.task_index'"
        ).fetchall()
    assert {(r[0], r[1]) for r in rows} == {("teacher", "openai:gpt-test")}
    assert [r[2] for r in rows] == ["debug_dialogue", "debug_dialogue", "debug_dialogue", "quest_implementation"]
    first = json.loads(rows[0][3])["teacher"]
    assert first["attempts"] == 4 and first["repaired"] is True and first["prompt_tokens"] == 200
    assert first["cost_usd"] == pytest.approx((200 * 2.5 + 100 * 10) / 1e6)

    # The same command again resumes a finished batch: nothing is asked, nothing is added.
    with serve_in_thread(stand_in.app) as base:
        again = _generate("teacher", "--base-url", f"{base}/v1", "--model", "gpt-test", "--n", "4", "--seed", "7")
    assert again["batch_id"] == summary["batch_id"] and again["api_calls"] == 0
    assert again["skipped_already_done"] == 4 and len(stand_in.calls) == 7


def test_teacher_stops_on_a_fatal_error_and_resumes_without_paying_twice(home):
    stand_in = PaidApiStandIn(["ok", "ok", "401"])
    with serve_in_thread(stand_in.app) as base:
        args = ["generate", "teacher", "--base-url", f"{base}/v1", "--model", "m", "--n", "5", "--concurrency", "1"]
        failed = CliRunner().invoke(app, args)
        assert failed.exit_code == 2 and "HTTP 401" in failed.output and "resume" in failed.output
        assert len(stand_in.calls) == 3
        resumed = CliRunner().invoke(app, [*args, "--json"])
    summary = json.loads(resumed.stdout)
    assert summary["stored"] == 5 and summary["skipped_already_done"] == 2 and summary["api_calls"] == 3
    prompts = [c["messages"][1]["content"] for c in stand_in.calls]
    assert len(stand_in.calls) == 6 and len(set(prompts)) == 5  # only the task that got a 401 was asked twice


def test_a_request_the_endpoint_refuses_fails_its_task_only_and_is_not_asked_again(home):
    stand_in = PaidApiStandIn(["ok", "400"])
    with serve_in_thread(stand_in.app) as base:
        args = ["teacher", "--base-url", f"{base}/v1", "--model", "m", "--n", "3", "--concurrency", "1"]
        first = _generate(*args)
        again = _generate(*args)
    assert (first["stored"], first["failed"], first["api_calls"]) == (2, 1, 3)
    assert first["failures"][0]["error"].startswith("rejected by the endpoint: HTTP 400")
    assert (again["api_calls"], again["skipped_already_done"], again["failed"]) == (0, 3, 1)


def test_a_killed_teacher_run_picks_up_where_it_stopped(home):
    stand_in = PaidApiStandIn()
    stand_in.stall_after = 3  # the 4th request hangs: the run is killed while waiting on it
    with serve_in_thread(stand_in.app) as base:
        argv = [TRIFORGE, "generate", "teacher", "--base-url", f"{base}/v1", "--model", "m", "--n", "6",
                "--concurrency", "1", "--json"]  # fmt: skip
        env = {**os.environ, "TRIFORGE_HOME": str(home)}
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(stand_in.calls) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert len(stand_in.calls) == 4
        stand_in.stall_after = None
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["stored"] == 6 and summary["skipped_already_done"] == 3
    # Three answered tasks were never asked again; the one in flight at the kill and the two never sent were.
    prompts = [c["messages"][1]["content"] for c in stand_in.calls]
    assert len(prompts) == 7 and len(set(prompts)) == 6
    with Store(home / "triforge.duckdb", read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM samples").fetchone()[0] == 6


class GeminiStandIn:
    """Speaks the REST shape google-genai uses: POST /{v1,v1beta}/models/{model}:generateContent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict, str | None]] = []
        self.app = FastAPI()

        @self.app.post("/{version}/models/{target}")
        async def generate(version: str, target: str, request: Request):
            model, _, method = target.partition(":")
            if method != "generateContent":
                return JSONResponse({"error": {"code": 404, "message": f"no method {method}"}}, status_code=404)
            body = await request.json()
            self.requests.append((model, body, request.headers.get("x-goog-api-key")))
            prompt = body["contents"][0]["parts"][0]["text"]
            return {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": good_teacher_reply(prompt)}]},
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {"promptTokenCount": 80, "candidatesTokenCount": 40, "totalTokenCount": 120},
                "modelVersion": model,
            }


def test_gemini_teacher_through_the_real_google_genai_client(home, monkeypatch):
    monkeypatch.setenv("TEST_GEMINI_KEY", "g-secret")
    stand_in = GeminiStandIn()
    with serve_in_thread(stand_in.app) as base:
        summary = _generate(
            "teacher", "--provider", "gemini", "--base-url", base, "--model", "gemini-2.5-flash",
            "--api-key-env", "TEST_GEMINI_KEY", "--n", "3", "--kinds", "debug_dialogue",
        )  # fmt: skip
    assert summary["stored"] == 3 and summary["source_name"] == "gemini:gemini-2.5-flash"
    assert (summary["prompt_tokens"], summary["completion_tokens"]) == (240, 120)
    model, body, key = stand_in.requests[0]
    assert model == "gemini-2.5-flash" and key == "g-secret"
    assert "single JSON object" in body["systemInstruction"]["parts"][0]["text"]
    assert body["generationConfig"]["responseMimeType"] == "application/json"


def test_serve_model_speaks_openai_to_the_real_client(tiny_model):
    import openai

    from trainer.generation import load_model
    from trainer.serving import create_model_app

    loaded = load_model(tiny_model)
    with serve_in_thread(create_model_app(loaded, api_key="k-1")) as base:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="k-1", max_retries=0)
        assert [m.id for m in client.models.list().data] == ["tiny-llama"]
        reply = client.chat.completions.create(
            model="tiny-llama", messages=[{"role": "user", "content": "What does SEP #$20 do?"}], max_tokens=5
        )
        assert reply.usage.completion_tokens == 5 and reply.choices[0].finish_reason == "length"
        assert reply.usage.prompt_tokens > 5 and isinstance(reply.choices[0].message.content, str)
        same = client.chat.completions.create(
            model="tiny-llama", messages=[{"role": "user", "content": "What does SEP #$20 do?"}], max_tokens=5
        )
        assert same.choices[0].message.content == reply.choices[0].message.content  # greedy is deterministic
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{base}/v1", api_key="wrong", max_retries=0).models.list()
        with pytest.raises(openai.NotFoundError, match="not served"):
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.BadRequestError, match="stream"):
            client.chat.completions.create(
                model="tiny-llama", messages=[{"role": "user", "content": "hi"}], stream=True
            )


def test_teacher_and_bootstrap_against_a_served_local_model(home, smollm2_home):
    """The real path end to end: the openai client, triforge's model server, the real SmolLM2-135M. A 135M
    model does not keep the teacher's JSON contract, so each task gets its one repair and is recorded as
    failed with the paid-for text kept; as a bootstrap model it answers the questions it is given."""
    from trainer.generation import load_model
    from trainer.serving import create_model_app

    served = load_model(smollm2_home / "models" / "smollm2-135m-instruct")
    with serve_in_thread(create_model_app(served)) as base:
        teacher = _generate(
            "teacher", "--base-url", f"{base}/v1", "--model", served.name, "--n", "2", "--max-tokens", "24",
            "--temperature", "0",
        )  # fmt: skip
        boot = _generate(
            "bootstrap", "--base-url", f"{base}/v1", "--model", served.name, "--n", "3", "--max-tokens", "24",
            "--temperature", "0",
        )  # fmt: skip
    assert teacher["stored"] == 0 and teacher["failed"] == 2 and teacher["api_calls"] == 4
    assert all("unusable reply" in f["error"] for f in teacher["failures"])
    assert 0 < teacher["completion_tokens"] <= 4 * 24 and teacher["prompt_tokens"] > 4 * 100
    assert boot["stored"] == 3 and boot["source_name"] == f"openai:{served.name}"
    with Store(home / "triforge.duckdb", read_only=True) as store:
        rows = store.con.execute(
            "SELECT messages->>'$[0].content', messages->>'$[1].content', metadata->>'$.teacher.completion_tokens' "
            "FROM samples WHERE source_type = 'bootstrap'"
        ).fetchall()
        ledger = store.con.execute("SELECT raw_response FROM teacher_requests WHERE status = 'failed'").fetchall()
    assert len(rows) == 3 and all("```asm" in q and a.strip() and 0 < int(t) <= 24 for q, a, t in rows)
    assert len(ledger) == 2 and all(raw is not None for (raw,) in ledger)  # the paid-for text is kept


def test_bootstrap_in_process_from_a_trained_adapter(home, smollm2_home, tmp_path):
    """Strategy 4 in small: a real SmolLM2 LoRA step on approved-quality data, then that adapter proposes."""
    from pipelines.generate import run_generator

    with Workspace(home) as ws:
        run_generator(ws, "bug_injection", 12, seed=1)
        ws.snapshots.create("seed", "validation = passed")
    config = tmp_path / "small.toml"
    config.write_text("max_length = 256\nper_device_batch_size = 1\ngradient_accumulation_steps = 1\n")
    adapter = tmp_path / "adapter"
    base = smollm2_home / "models" / "smollm2-135m-instruct"
    trained = CliRunner().invoke(
        app,
        [
            "train",
            "seed",
            "--base-model",
            str(base),
            "--out",
            str(adapter),
            "--config",
            str(config),
            "--max-steps",
            "1",
        ],
    )
    assert trained.exit_code == 0, trained.output
    summary = _generate("bootstrap", "--adapter", str(adapter), "--n", "2", "--seed", "9", "--max-tokens", "16")
    run_id = json.loads((adapter / "manifest.json").read_text())["run_id"]
    assert summary["stored"] == 2 and summary["source_name"] == f"local:adapter@{run_id[:8]}"
    with Store(home / "triforge.duckdb", read_only=True) as store:
        rows = store.con.execute(
            "SELECT source_type, metadata->>'$.teacher.model' FROM samples WHERE source_name = ?",
            [summary["source_name"]],
        ).fetchall()
    assert rows == [("bootstrap", f"adapter@{run_id[:8]}")] * 2

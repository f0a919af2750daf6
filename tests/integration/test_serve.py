"""The real server process: ``triforge serve`` on loopback, the submission page in headless
Chromium (screenshot checked for the verdict banner), and the store lock while it runs."""

import json
import os
import shutil
import signal
import stat
import subprocess

import httpx
import pytest
from typer.testing import CliRunner

from tests.service_process import start_service, stop_service
from triforge.cli import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def server(home):
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--role", "contributor", "--name", "alice", "--json"])
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)["key"]
    # The operator's admin key, saved where CLI writes find it while the service holds the store.
    admin = runner.invoke(app, ["keys", "create", "--role", "admin", "--name", "ops", "--save-admin-key", "--json"])
    assert admin.exit_code == 0, admin.output
    try:
        proc, base = start_service(home)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield base, key, proc
    stop_service(proc)


def test_cli_writes_while_serving_name_the_holder(server, home, field_dir):
    _, _, proc = server
    result = CliRunner().invoke(app, ["import", str(field_dir / "teacher_pilot_output.jsonl")])
    assert result.exit_code == 2
    assert f"locked by process {proc.pid}" in result.output and "serve" in result.output


def test_the_service_says_where_it_is_while_it_runs(server, home):
    base, _, proc = server
    info_file = home / "service.json"
    assert stat.S_IMODE(info_file.stat().st_mode) == 0o600
    info = json.loads(info_file.read_text())
    assert (info["url"], info["pid"]) == (base, proc.pid)
    proc.terminate()
    proc.wait(timeout=30)
    assert not info_file.exists()  # removed on shutdown: a stale file never sends a CLI write nowhere


def test_cli_writes_go_through_the_running_service(server, home, monkeypatch):
    """Keys, decisions, corrections and snapshots while `triforge serve` holds the store: the CLI
    sends them through its API with the saved admin key, and they count at once."""
    base, alice, proc = server
    runner = CliRunner()
    assert stat.S_IMODE((home / "admin.key").stat().st_mode) == 0o600

    made = runner.invoke(app, ["keys", "create", "--role", "contributor", "--name", "carol", "--json"])
    assert made.exit_code == 0, made.output
    assert f"sent through {base}" in " ".join(made.stderr.split())
    carol = json.loads(made.stdout)
    assert carol["key"].startswith("tf_") and carol["id"] == carol["key"][:11]
    # The new key works at once: no restart.
    from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION

    body = {"prompt": GOOD_QUESTION, "answer": GOOD_ANSWER, "category": "mode_mismatch"}
    submitted = httpx.post(f"{base}/v1/submissions", json=body, headers={"X-API-Key": carol["key"]})
    assert submitted.status_code == 201, submitted.text
    sample_id = submitted.json()["sample_id"]
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert {"alice", "ops", "carol"} == {k["name"] for k in listed}
    assert all(k["created_at"].endswith("+00:00") for k in listed)  # zoned times from the API

    marked = runner.invoke(app, ["samples", "mark", sample_id[:12], "--status", "approved", "--by", "expert"])
    assert marked.exit_code == 0, marked.output
    assert "1 sample(s) marked approved" in marked.stdout
    admin = {"X-API-Key": (home / "admin.key").read_text().strip()}
    detail = httpx.get(f"{base}/v1/samples/{sample_id}", headers=admin).json()
    assert detail["status"] == "approved" and detail["history"][-1]["actor"] == "expert"
    assert detail["history"][-1]["recorded_at"].endswith("Z")

    snap = runner.invoke(app, ["snapshot", "create", "approved-now", "--where", "status = approved", "--json"])
    assert snap.exit_code == 0, snap.output
    assert json.loads(snap.stdout)["member_count"] == 1

    fixed = runner.invoke(app, ["samples", "correct", sample_id, "--by", "expert", "--category", "stack_imbalance"])
    assert fixed.exit_code == 0, fixed.output
    new_id = fixed.stdout.split()[-1]
    assert httpx.get(f"{base}/v1/samples/{new_id}", headers=admin).json()["parent_id"] == sample_id

    # Revoked through the service: refused from the next request on.
    revoked = runner.invoke(app, ["keys", "revoke", carol["id"]])
    assert revoked.exit_code == 0, revoked.output
    assert httpx.get(f"{base}/v1/contributors/me", headers={"X-API-Key": carol["key"]}).status_code == 401
    assert httpx.get(f"{base}/v1/contributors/me", headers={"X-API-Key": alice}).status_code == 200

    # Errors read as they would locally; without an admin key the CLI says how to give it one.
    missing = runner.invoke(app, ["samples", "mark", "abcdef123456", "--status", "approved"])
    assert missing.exit_code == 2 and "no sample with id abcdef123456" in " ".join(missing.output.split())
    (home / "admin.key").unlink()
    monkeypatch.delenv("TRIFORGE_ADMIN_KEY", raising=False)
    refused = runner.invoke(app, ["samples", "mark", sample_id, "--status", "rejected"])
    message = " ".join(refused.output.split())
    assert refused.exit_code == 2
    assert f"held by triforge serve (pid {proc.pid})" in message and "TRIFORGE_ADMIN_KEY" in message
    monkeypatch.setenv("TRIFORGE_ADMIN_KEY", admin["X-API-Key"])  # the environment works as well as the file
    assert runner.invoke(app, ["samples", "mark", sample_id, "--status", "rejected"]).exit_code == 0


def test_keys_cli(home):
    runner = CliRunner()
    made = json.loads(runner.invoke(app, ["keys", "create", "--role", "curator", "--name", "bob", "--json"]).stdout)
    assert made["key"].startswith("tf_") and made["id"] == made["key"][:11]
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert [(k["name"], k["role"], k["revoked_at"]) for k in listed] == [("bob", "curator", None)]
    assert runner.invoke(app, ["keys", "revoke", made["id"]]).exit_code == 0
    assert json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)[0]["revoked_at"] is not None
    bad = runner.invoke(app, ["keys", "create", "--role", "king", "--name", "x"])
    assert bad.exit_code == 2 and "unknown role" in bad.output


def _screenshot(argv: list[str], shot, attempts: int = 3) -> None:
    """Run headless Chromium until it has written the screenshot. On a fresh machine it now and then
    hangs, or exits 0 having written nothing; a stuck run is killed with its helper processes and a
    run without a picture is tried again."""
    for _ in range(attempts):
        # Its helper processes outlive it holding inherited pipes: no pipes, and its own session to kill.
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if shot.exists() and shot.stat().st_size > 0:
            return
    raise AssertionError(f"Chromium wrote no screenshot in {attempts} runs")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by .ci/run")
def test_submission_page_renders_the_report_in_chromium(server, tmp_path):
    from PIL import Image

    base, key, _ = server
    # The form post a browser makes; the page it gets back is what Chromium renders. The page is
    # self-contained (inline style), so the browser loads a file and never touches the network.
    form = {
        "api_key": key,
        "kind": "debug_dialogue",
        "category": "stack_imbalance",
        "prompt": "Why does PLA crash after JSR?",
        "answer": "I think maybe the stack is wrong.",
    }
    reply = httpx.post(f"{base}/submit", data=form)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    page = tmp_path / "report.html"
    page.write_text(reply.text, encoding="utf-8")
    shot = tmp_path / "report.png"
    _screenshot(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1000,800",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        shot,
    )
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 800)
    # The verdict banner of an invalid submission is red (#c0392b) across the page's width.
    red = sum(
        1
        for x in range(0, 1000, 10)
        for y in range(60, 200, 10)
        if all(abs(a - b) <= 12 for a, b in zip(image.getpixel((x, y)), (0xC0, 0x39, 0x2B), strict=True))
    )
    assert red >= 100, f"no red verdict banner in the screenshot ({red} red sample points)"
    # And the submission is on record: the page showed the service's real report.
    me = httpx.get(f"{base}/v1/contributors/me", headers={"X-API-Key": key}).json()
    assert me["submissions"] == 1 and me["recent"][0]["status"] == "invalid"


def test_concurrent_requests_share_the_store_safely(server):
    # Regression: healthz once read the schema version outside the lock and broke under load.
    from concurrent.futures import ThreadPoolExecutor

    from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION

    base, key, _ = server
    client = httpx.Client(base_url=base, timeout=60)

    def call(i: int) -> int:
        if i % 4:
            return client.get("/healthz").status_code
        body = {"prompt": f"{GOOD_QUESTION} (case {i})", "answer": GOOD_ANSWER, "category": "mode_mismatch"}
        return client.post("/v1/submissions", json=body, headers={"X-API-Key": key}).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(call, range(40)))
    assert sorted(set(codes)) == [200, 201]
    assert codes.count(201) == 10

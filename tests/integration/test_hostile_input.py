"""A fuzz corpus of the inputs that once gave tracebacks, 500s or silently changed values: each now
gets a 4xx or a one-line error, and no good row around it is lost - through the importer, the CLI,
the HTTP API, and a real full or read-only disk (a tmpfs in a private mount namespace)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from curation.workspace import Workspace
from labeling.api.app import create_app
from schemas.json_input import MAX_DEPTH, JSONInputError, loads_strict
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.factories import TRIFORGE, chat_row, write_jsonl
from triforge.cli import app

# (name, JSON text, what the error says) - each a row, a request body or a batch line.
HOSTILE = [
    ("NaN", '{"prompt": NaN}', "NaN"),
    ("Infinity", '{"prompt": -Infinity}', "-Infinity"),
    ("huge float", '{"quality_score": 1e999}', "out of range"),
    ("lone surrogate", '{"prompt": "why \\ud800"}', "surrogate"),
    ("surrogate in a key", '{"\\udfff": 1}', "surrogate"),
    ("duplicate key", '{"prompt": "a", "prompt": "b"}', "duplicate key 'prompt'"),
    ("100k deep", "[" * 100_000 + "]" * 100_000, "nested more than"),
    ("one level too deep", "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested more than"),
    ("5,000-digit integer", '{"n": ' + "9" * 5000 + "}", "digits"),
]


@pytest.mark.parametrize("name, text, says", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_strict_json_refuses_with_a_reason(name, text, says):
    with pytest.raises(JSONInputError, match=says.replace("(", r"\(")):
        loads_strict(text)


def test_strict_json_keeps_what_is_valid():
    text = '{"a": [1, 2.5, -0.0, "\\ud83d\\ude00", {"b": null}], "deep": ' + "[" * 60 + "]" * 60 + "}"
    assert loads_strict(text) == json.loads(text)
    assert loads_strict(b'{"x": "\xc3\xa9"}') == {"x": "é"}


def _good(n: int) -> dict:
    return chat_row(f"{GOOD_QUESTION} (good row {n})", GOOD_ANSWER)


def test_import_reports_every_hostile_row_and_keeps_the_good_ones(home, tmp_path):
    hostile = [text for _, text, _ in HOSTILE]
    first = write_jsonl(tmp_path / "first.jsonl", [_good(0), *hostile, _good(1)])
    second = write_jsonl(tmp_path / "second.jsonl", [_good(2)])
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(first), str(second), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["new"] == 3  # the good rows of both files: nothing after the 100k-deep row is lost
    assert [m["line"] for m in report["malformed"]] == list(range(2, 2 + len(HOSTILE)))
    for row, (_, _, says) in zip(report["malformed"], HOSTILE, strict=True):
        assert says in row["error"], row
    aborted = runner.invoke(app, ["import", str(first), "--on-error", "abort", "--json"])
    assert aborted.exit_code == 1 and json.loads(aborted.stdout)["files"][0]["aborted"]


def test_nan_metadata_never_reaches_the_store_or_the_json_output(home, tmp_path):
    rows = [
        '{"messages": [{"role": "user", "content": "q"}], "quality_score": NaN}',
        {**_good(0), "quality_score": 0.9},
    ]
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(write_jsonl(tmp_path / "m.jsonl", rows))]).exit_code == 0
    listed = runner.invoke(app, ["samples", "list", "--where", "metadata.quality_score >= 0.7", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)["total"] == 1
    shown = runner.invoke(app, ["samples", "show", json.loads(listed.stdout)["samples"][0]["id"][:12], "--json"])
    assert shown.exit_code == 0 and "NaN" not in shown.stdout
    json.loads(shown.stdout)


def test_a_deeply_nested_filter_is_one_line(home, field_files):
    runner = CliRunner()
    runner.invoke(app, ["import", str(field_files[0])])
    deep = "(" * 3000 + "status = proposed" + ")" * 3000
    result = runner.invoke(app, ["samples", "list", "--where", deep])
    assert result.exit_code == 2 and "nested more than 32" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2


@pytest.fixture
def client(home):
    with Workspace(home) as ws:
        contributor = ws.keys.create("c", "contributor")[1]
        curator = ws.keys.create("k", "curator")[1]
    with TestClient(create_app(home)) as test_client:
        yield test_client, contributor, curator


@pytest.mark.parametrize("name, text, says", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_bodies_get_422_with_the_reason(client, name, text, says):
    test_client, contributor, _ = client
    answer = test_client.post(
        "/v1/submissions", content=text.encode(), headers={"X-API-Key": contributor, "content-type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail[0]["type"] == "json_invalid" and says in detail[0]["msg"]


def test_hostile_batch_lines_come_back_by_line_and_good_lines_land(client):
    test_client, contributor, _ = client
    good = json.dumps({"kind": "debug_dialogue", "prompt": GOOD_QUESTION, "answer": GOOD_ANSWER})
    lines = [good] + [text for _, text, _ in HOSTILE if len(text) < 100_000]
    answer = test_client.post(
        "/v1/submissions/batch",
        content="\n".join(lines).encode(),
        headers={"X-API-Key": contributor, "content-type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 1 and body["rejected"] == len(lines) - 1
    assert all(r["errors"][0]["type"] == "json_invalid" for r in body["results"][1:])


def test_contamination_answers_carry_no_server_path_and_refuse_blank_prompts(client, home):
    test_client, _, curator = client
    headers = {"X-API-Key": curator}
    blank = test_client.post(
        "/v1/contamination", json={"snapshot": "nope", "evals": [{"id": "a", "prompt": "   "}]}, headers=headers
    )
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"][-1] == "prompt"
    missing = test_client.post(
        "/v1/contamination", json={"snapshot": "nope", "evals": [{"id": "a", "prompt": "why"}]}, headers=headers
    )
    assert missing.status_code == 404 and "/tmp" not in missing.text and str(home) not in missing.text


def _in_small_tmpfs(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``script`` as root of a private user and mount namespace with a 8 MB tmpfs at ``$MNT``."""
    if shutil.which("unshare") is None:
        pytest.fail("util-linux unshare is needed to make a real full disk")
    mount = tmp_path / "mnt"
    mount.mkdir()
    wrapped = f'set -u\nMNT={mount}\nmount -t tmpfs -o size=8m tmpfs "$MNT" || exit 99\n{script}'
    proc = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", wrapped],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": f"{Path(TRIFORGE).parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode != 99, proc.stderr
    return proc


def test_a_full_disk_is_one_line_naming_the_file_and_what_was_committed(tmp_path, field_dir):
    big = write_jsonl(tmp_path / "big.jsonl", [chat_row(f"{GOOD_QUESTION} {i} " + "x" * 3000, GOOD_ANSWER) for i in
                                                range(4000)])  # fmt: skip
    first, last = field_dir / "farore_debugging_training.jsonl", field_dir / "veran_snes_hardware.jsonl"
    proc = _in_small_tmpfs(
        f"""export TRIFORGE_HOME="$MNT/home"
triforge import {first} {big} {last}; echo "import=$?"
dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
triforge validate; echo "validate=$?"
triforge dedup run; echo "dedup=$?"
rm "$MNT/filler"; mount -o remount,ro "$MNT"
triforge import {last}; echo "readonly=$?"
""",
        tmp_path,
    )
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    for step in ("import", "validate", "dedup", "readonly"):
        assert f"{step}=2" in out, out
    flat = " ".join(out.split())
    assert "No space left on device" in flat and "triforge.duckdb" in flat
    assert "files already committed: farore_debugging_training.jsonl (28 new)" in flat
    assert "not imported: big.jsonl, veran_snes_hardware.jsonl" in flat
    assert "Read-only file system" in flat

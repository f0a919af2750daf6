"""The assembler sandbox, tried as an attacker with a contributor key would: every spelling of a file
read finds nothing inside bubblewrap - through Asar, through ``triforge import`` + ``validate`` and
through the HTTP API - while the same snippets do read the file when run without it (so these tests
would catch a sandbox that stopped working). Legitimate defines are no longer refused."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from curation.validators import sandbox as sandbox_module
from curation.validators.asar import Asar, AsmOutcome, unsafe_directive
from curation.validators.runner import current_results
from curation.validators.sandbox import (
    SANDBOX_ENV,
    Bubblewrap,
    Limits,
    SandboxUnavailable,
    Unsandboxed,
    default_sandbox,
)
from curation.workspace import Workspace
from labeling.api.app import create_app
from labeling.api.service import SubmissionService
from tests.dialogues import GOOD_QUESTION
from tests.factories import TRIFORGE, chat_row, write_jsonl
from triforge.cli import app

SECRET = "TF-SECRET-7d1e admin key"


def _text(outcome: AsmOutcome) -> str:
    return json.dumps(outcome.to_json())


def _says(text: str):
    return lambda outcome: text in _text(outcome)


def _assembled(outcome: AsmOutcome) -> bool:
    return outcome.ok


# (name, snippet with {path}, did it read the file?) - each spelling gets past the deny-list.
BYPASSES = [
    ("command from defines", '!a = inc\n!b = src\nNOP : !a!b "{path}"', _says(SECRET)),
    ("line continuation", 'inc\\\nsrc "{path}"', _says(SECRET)),
    ("readfile through a define", '!r = readfile1\nassert !r("{path}", 0) == $54', _assembled),
    ("canreadfile oracle", '!c = canreadfile1\nif !c("{path}", 0)\nerror "can-read"\nendif', _says("can-read")),
    ("filesize oracle", '!g = filesize\nif !g("{path}") > 0\nerror "has-size"\nendif', _says("has-size")),
    ("incbin from defines", '!a = incb\n!b = in\nNOP : !a!b "{path}"', _assembled),
    ("table from defines", '!a = tab\n!b = le\nNOP : !a!b "{path}"', _says("Invalid table file")),
]


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "admin.key"
    path.write_text(SECRET + "\n")
    return path


@pytest.mark.parametrize("name, snippet, leaked", BYPASSES, ids=[b[0] for b in BYPASSES])
def test_every_spelling_of_a_file_read_finds_nothing_in_the_sandbox(secret_file, name, snippet, leaked):
    code = snippet.format(path=secret_file)
    assert unsafe_directive(code) is None, "the deny-list must not be what stops this spelling"
    contained = Asar(sandbox=default_sandbox()).check(code)
    assert isinstance(Asar().sandbox, Bubblewrap)
    assert not leaked(contained), _text(contained)
    assert SECRET not in _text(contained)
    # The same snippet outside the sandbox does read the file: the assertion above has teeth.
    assert leaked(Asar(sandbox=Unsandboxed()).check(code))


def test_the_sandbox_sees_only_usr_the_assembler_and_its_folder():
    sandbox = default_sandbox()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "snippet.asm").write_text("NOP\n")
        argv, cwd = sandbox.command(
            Path("/usr/bin/sh"),
            ["-c", "ls -A / ; ls /work; id -u; cat /etc/passwd /proc/1/environ"],
            Path(tmp),
            Limits(),
        )
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=30)
    listing = proc.stdout.split()
    assert {"usr", "work", "opt"} <= set(listing) and not {"etc", "home", "root", "proc", "tmp"} & set(listing)
    assert "snippet.asm" in listing and "65534" in listing
    assert "No such file" in proc.stderr and proc.returncode != 0


def test_a_define_with_a_long_name_is_not_refused():
    for code in ("!Flag = $10\nLDA !Flag\nRTS", "!QuestFlags = $7EF410\nLDA.l !QuestFlags\nRTL", "!x ?= 1\nLDA #!x"):
        assert unsafe_directive(code) is None, code
        assert Asar().check(code).ok, code
    assert unsafe_directive('!a!b "/etc/passwd"') == "!a"  # an expansion as a command is still an early refusal


def test_an_endless_loop_costs_one_budget_not_a_timeout_per_retry():
    asar = Asar()
    started = time.monotonic()
    outcomes = asar.check_many(["while 1\nendwhile", "LDA #$01\nRTS"], budget=1.0)
    elapsed = time.monotonic() - started
    assert outcomes[0].timed_out and not outcomes[0].ok
    assert elapsed < 2.5, elapsed  # batch + alone retry within one budget, not 2 x the 10 s timeout


def test_without_bubblewrap_assembling_refuses_with_the_fix(monkeypatch):
    monkeypatch.delenv(SANDBOX_ENV, raising=False)
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        default_sandbox()
    monkeypatch.setenv(SANDBOX_ENV, "sometimes")
    with pytest.raises(SandboxUnavailable, match="bwrap or off"):
        default_sandbox()
    monkeypatch.setenv(SANDBOX_ENV, "off")
    assert isinstance(default_sandbox(), Unsandboxed)


def test_the_service_will_not_run_unsandboxed(home, monkeypatch):
    monkeypatch.setenv(SANDBOX_ENV, "off")
    with pytest.raises(SandboxUnavailable, match="only inside bubblewrap"):
        SubmissionService(Workspace(home))
    proc = subprocess.run(
        [TRIFORGE, "serve", "--port", "1"],
        env={"PATH": "/usr/bin:/bin", "TRIFORGE_HOME": str(home), SANDBOX_ENV: "off"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "only inside bubblewrap" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def _asm_answer(code: str) -> str:
    return f"**Bug: stack imbalance**\n\nThe routine pushes once and pulls twice.\n\n```asm\n{code}\n```\n"


def test_import_and_validate_store_nothing_from_outside_files(home, tmp_path):
    key_file = home / "admin.key"
    home.mkdir(parents=True, exist_ok=True)
    key_file.write_text(SECRET + "\n")
    rows = [chat_row(GOOD_QUESTION, _asm_answer(snippet.format(path=key_file))) for _, snippet, _ in BYPASSES]
    runner = CliRunner()
    imported = runner.invoke(app, ["import", str(write_jsonl(tmp_path / "evil.jsonl", rows)), "--json"])
    assert imported.exit_code == 0 and json.loads(imported.stdout)["new"] == len(BYPASSES)
    validated = runner.invoke(app, ["validate", "--json"])
    assert validated.exit_code == 0, validated.output
    with Workspace(home) as ws:
        ids = ws.samples.all_ids()
        stored = json.dumps([[r.model_dump() for r in current_results(ws, i)] for i in ids])
    assert "wasn't found" in stored  # Asar ran and was told the file does not exist
    assert SECRET not in stored and SECRET not in validated.output


def test_a_contributor_cannot_read_the_admin_key_through_the_api(home):
    with Workspace(home) as ws:
        contributor = ws.keys.create("mallory", "contributor")[1]
        admin = ws.keys.create("root", "admin")[1]
    (home / "admin.key").write_text(admin + "\n")
    with TestClient(create_app(home)) as client:
        for _, snippet, _ in BYPASSES:
            body = {"kind": "debug_dialogue", "prompt": GOOD_QUESTION, "answer": _asm_answer(
                snippet.format(path=home / "admin.key"))}  # fmt: skip
            answer = client.post("/v1/submissions", json=body, headers={"X-API-Key": contributor})
            assert answer.status_code in (200, 201), answer.text
            assert admin not in answer.text
            again = client.get(f"/v1/submissions/{answer.json()['id']}", headers={"X-API-Key": contributor})
            assert admin not in again.text


def test_the_service_runs_contributors_code_with_the_short_timeout(home):
    service = SubmissionService(Workspace(home))
    try:
        substitutes = service.check.substitutes
        assert substitutes["asm_assembles"].asar.timeout == 2.0 and substitutes["asm_assembles"].budget == 2.0
        assert substitutes["rom_patch"]._asar is substitutes["asm_assembles"].asar  # patches too, not only snippets
        assert isinstance(substitutes["rom_patch"]._asar.sandbox, Bubblewrap)
    finally:
        service.close()

"""Backups: ``triforge store backup`` while ``triforge serve`` runs and takes submissions (sent
through its API, taken between two requests), ``store restore`` into a new home, ``store verify``
re-hashing every snapshot and revision; refusals for a non-empty store, a held store, a changed
backup file; and a tampered store failing verify."""

import json
import threading
import uuid
from pathlib import Path

import duckdb
import httpx
import pytest
from typer.testing import CliRunner

from curation.importers import import_file
from curation.store import Store
from curation.workspace import Workspace
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.service_process import start_service, stop_service
from triforge.cli import app


def _cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def _rows(path: Path) -> dict[str, int]:
    with Store(path, read_only=True) as store:
        tables = [r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {t: store.con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def _ids(path: Path) -> set[str]:
    with Store(path, read_only=True) as store:
        return {r[0] for r in store.con.execute("SELECT id FROM submissions").fetchall()}


@pytest.fixture
def seeded(home, field_dir):
    home.mkdir(parents=True)
    with Workspace(home) as ws:
        import_file(ws, field_dir / "farore_debugging_training.jsonl")
        ws.snapshots.create("field")
    made = _cli("keys", "create", "--role", "contributor", "--name", "alice", "--json")
    assert made.exit_code == 0, made.output
    assert _cli("keys", "create", "--role", "admin", "--name", "ops", "--save-admin-key").exit_code == 0
    return json.loads(made.stdout)["key"]


def test_backup_while_serving_restores_into_a_new_home_and_verifies(seeded, home, tmp_path, monkeypatch):
    proc, base = start_service(home, "--requests-per-minute", "1000000")
    acknowledged: list[str] = []
    stop = threading.Event()

    def submit_until_stopped() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            n = 0
            while not stop.is_set():
                n += 1
                body = {"prompt": f"{GOOD_QUESTION} (backup case {n})", "answer": GOOD_ANSWER}
                headers = {"X-API-Key": seeded, "Idempotency-Key": uuid.uuid4().hex}
                response = client.post("/v1/submissions", json=body, headers=headers)
                assert response.status_code == 201, response.text
                acknowledged.append(response.json()["id"])

    submitter = threading.Thread(target=submit_until_stopped)
    submitter.start()
    try:
        while len(acknowledged) < 3:
            stop.wait(0.1)
        made = _cli("snapshot", "create", "with-community", "--json")  # through the service, like the backup
        assert made.exit_code == 0, made.output
        before_backup = set(acknowledged)
        backup = tmp_path / "backup"
        done = _cli("store", "backup", str(backup), "--json")
        assert done.exit_code == 0, done.output
        assert f"sent through {base}" in " ".join(done.stderr.split())
        while len(acknowledged) < len(before_backup) + 3:  # and it kept taking submissions afterwards
            stop.wait(0.1)
        stop.set()
        submitter.join(timeout=60)
        # The service's own check, through its API; and a restore is refused while it holds the store.
        served = _cli("store", "verify", "--json")
        assert served.exit_code == 0 and json.loads(served.stdout)["ok"] is True, served.output
        held = _cli("store", "restore", str(backup), "--force")
        assert held.exit_code == 2 and f"process {proc.pid}" in " ".join(held.output.split())
    finally:
        stop.set()
        submitter.join(timeout=60)
        stop_service(proc)

    manifest = json.loads(done.stdout)
    assert manifest == json.loads((backup / "manifest.json").read_text())
    assert manifest["rows"]["revisions"] == 28 + manifest["rows"]["submissions"]
    assert manifest["rows"]["snapshots"] == 2 and manifest["rows"]["api_keys"] == 2

    restored_home = tmp_path / "restored"
    monkeypatch.setenv("TRIFORGE_HOME", str(restored_home))
    restored = _cli("store", "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    verified = _cli("store", "verify")
    assert verified.exit_code == 0, verified.output
    assert "OK snapshot field" in verified.stdout and "OK snapshot with-community" in verified.stdout
    rows = _rows(restored_home / "triforge.duckdb")
    assert {t: rows[t] for t in manifest["rows"]} == manifest["rows"]
    # Consistent: every submission acknowledged before the backup began is in it, nothing that never was.
    in_backup = _ids(restored_home / "triforge.duckdb")
    assert before_backup <= in_backup <= set(acknowledged)
    assert len(in_backup) < len(acknowledged)  # submissions went on landing in the live store meanwhile

    again = _cli("store", "restore", str(backup))
    assert again.exit_code == 2 and "not empty" in again.output and "--force" in again.output
    assert _cli("store", "restore", str(backup), "--force").exit_code == 0

    # Tampering with a frozen sample is caught by the snapshot hashes and the revision's own id.
    with duckdb.connect(str(restored_home / "triforge.duckdb")) as con:
        con.execute(
            'UPDATE revisions SET messages = replace(messages::VARCHAR, \'"content":"\', '
            '\'"content":"Edited. \')::JSON WHERE id = '
            "(SELECT min(revision_id) FROM snapshot_members m JOIN snapshots s ON s.id = m.snapshot_id "
            "WHERE s.name = 'field')"
        )
    tampered = _cli("store", "verify")
    assert tampered.exit_code == 1
    assert "FAIL snapshot field" in tampered.output and "content no longer matches its id" in tampered.output


def test_backup_and_restore_without_a_service_and_a_changed_backup_is_refused(seeded, home, tmp_path, monkeypatch):
    backup = tmp_path / "backup"
    made = _cli("store", "backup", str(backup))
    assert made.exit_code == 0 and "backed up 28 revisions" in made.stdout, made.output
    assert _cli("store", "backup", str(backup)).exit_code == 2  # never on top of another backup

    monkeypatch.setenv("TRIFORGE_HOME", str(tmp_path / "restored"))
    assert _cli("store", "restore", str(backup)).exit_code == 0
    assert _cli("store", "verify").exit_code == 0
    assert _rows(tmp_path / "restored" / "triforge.duckdb") == _rows(home / "triforge.duckdb")

    with open(backup / "triforge.duckdb", "r+b") as handle:  # one flipped byte in the file
        handle.seek(4096 + 100)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setenv("TRIFORGE_HOME", str(tmp_path / "third"))
    refused = _cli("store", "restore", str(backup))
    assert refused.exit_code == 2 and "does not match its manifest" in " ".join(refused.output.split())
    assert not (tmp_path / "third" / "triforge.duckdb").exists()

"""Expert review against the real local Argilla 2.8 stack (argilla-server + noida-db), started once per
session with the same code as ``triforge labeling up``. Annotators answer through Argilla's REST API."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from curation.store import Store
from generators.run import run_generator
from labeling.argilla.stack import LabelingStack, argilla_venv
from tests.dialogues import GOOD_ANSWER
from tests.local_http import free_port
from triforge.cli import app

NO_STACK = pytest.mark.skipif(
    not (argilla_venv() / "bin" / "noida-db").exists(), reason="the Argilla venv is built by `make setup`"
)


@pytest.fixture(scope="session")
def argilla(tmp_path_factory):
    stack = LabelingStack(tmp_path_factory.mktemp("argilla-home"))
    creds = stack.up(port=free_port())
    try:
        yield stack, creds
    finally:
        stack.down()


def _annotator(client, creds, name: str) -> dict[str, str]:
    """A real annotator user in the workspace, and the Bearer header Argilla's login gives them."""
    import argilla as rg

    from labeling.argilla.datasets import ensure_workspace

    password = "Annotator-pass-123"
    user = client.users(name) or rg.User(username=name, password=password, role="annotator", client=client).create()
    workspace = ensure_workspace(client)
    if name not in [u.username for u in workspace.users]:
        workspace.add_user(user)
    token = httpx.post(f"{creds.api_url}/api/v1/token", data={"username": name, "password": password})
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _respond(creds, headers, record_uuid: str, decision: str, correction: str | None = None) -> None:
    values = {"decision": {"value": decision}}
    if correction:
        values["corrected_answer"] = {"value": correction}
    reply = httpx.post(
        f"{creds.api_url}/api/v1/records/{record_uuid}/responses",
        headers=headers,
        json={"values": values, "status": "submitted"},
    )
    assert reply.status_code == 201, reply.text


def test_krippendorff_alpha_nominal_by_hand():
    from labeling.argilla.stats import krippendorff_alpha_nominal as alpha

    assert alpha([["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]) == pytest.approx(1 - 7 * 2 / 30, abs=1e-4)
    assert alpha([["a", "a"], ["b", "b", "b"], ["a", "a", "a"]]) == 1.0
    assert alpha([["a", "b"], ["b", "a"]]) < 0  # they disagree more than chance would
    assert alpha([["a", "a"], ["a", "a"]]) is None and alpha([["a", "b"]]) is None and alpha([["a"], ["b"]]) is None


@NO_STACK
def test_labeling_up_is_idempotent_and_keeps_credentials_private(argilla):
    stack, creds = argilla
    assert stack.status()["healthy"] and all(stack.status()["processes"].values())
    assert stack.credentials_file.stat().st_mode & 0o777 == 0o600
    assert creds.api_key not in ("argilla.apikey", "owner.apikey") and len(creds.api_key) >= 32
    pids = stack.state()["pids"]
    assert stack.up(port=int(creds.api_url.rsplit(":", 1)[1])) == creds and stack.state()["pids"] == pids


@NO_STACK
def test_push_pull_consensus_and_corrections(argilla, home, monkeypatch):
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from labeling.argilla.client import connect
    from labeling.argilla.sync import pull

    with Store(home / "triforge.duckdb") as store:
        run_generator(store, "bug_injection", 8, seed=5)
        expected = store.con.execute(
            "SELECT count(*) FROM samples WHERE validation = 'passed' AND duplicate_of IS NULL"
        ).fetchone()[0]
    assert expected >= 4
    runner = CliRunner()
    pushed = runner.invoke(app, ["review", "push", "--min-submitted", "2", "--json"])
    assert pushed.exit_code == 0, pushed.output
    assert json.loads(pushed.stdout)["sent"] == expected
    again = json.loads(runner.invoke(app, ["review", "push", "--json"]).stdout)
    assert (again["sent"], again["already_sent"]) == (0, expected)  # record id = revision id: nothing twice

    client = connect()
    dataset = client.datasets(name="triforge-debug-dialogue", workspace=client.workspaces("triforge"))
    records = {r.id: r for r in dataset.records(with_suggestions=True)}
    with Store(home / "triforge.duckdb", read_only=True) as store:
        in_review = [
            r[0] for r in store.con.execute("SELECT id FROM samples WHERE status = 'in_review' ORDER BY id").fetchall()
        ]
    assert sorted(records) == in_review and len(in_review) == expected
    first = records[in_review[0]]
    assert (
        first.suggestions["decision"].value == "approve"
        and first.suggestions["decision"].agent == "triforge-validators"
    )

    ada, bo = _annotator(client, creds, "ada"), _annotator(client, creds, "bo")
    a, b, c, d = (records[i]._model.id for i in in_review[:4])
    _respond(creds, ada, a, "approve")
    _respond(creds, bo, a, "approve")
    _respond(creds, ada, b, "reject")
    _respond(creds, bo, b, "reject")
    _respond(creds, ada, c, "approve", correction=GOOD_ANSWER)
    _respond(creds, bo, c, "approve")
    _respond(creds, ada, d, "approve")
    _respond(creds, bo, d, "reject")

    with Store(home / "triforge.duckdb") as store:
        summary = pull(store, client, rule="unanimous", min_submitted=2)
        assert (summary.approved, summary.rejected, summary.corrected, summary.disputed) == (1, 1, 1, 1)
        status = dict(store.con.execute("SELECT id, status FROM samples").fetchall())
        assert status[in_review[0]] == "approved" and status[in_review[1]] == "rejected"
        assert status[in_review[2]] == "superseded" and status[in_review[3]] == "in_review"
        child = store.con.execute(
            "SELECT id, status, validation, messages->>'$[1].content' FROM samples WHERE parent_id = ?", [in_review[2]]
        ).fetchone()
        assert child[1:] == ("approved", "passed", GOOD_ANSWER)
        provenance = store.con.execute("SELECT source_type, source_name FROM samples WHERE id = ?", [child[0]])
        assert provenance.fetchone() == ("expert", "argilla:ada")
        reviews = store.con.execute("SELECT reviewer, count(*) FROM reviews GROUP BY 1 ORDER BY 1").fetchall()
        assert reviews == [("ada", 4), ("bo", 4)]
        actors = {
            r[0] for r in store.con.execute("SELECT actor FROM status_events WHERE status = 'approved'").fetchall()
        }
        assert actors == {"argilla:ada", "argilla:bo"}
        # A second pull changes nothing: responses are upserted and outcomes applied once.
        again = pull(store, client, rule="unanimous", min_submitted=2)
        assert (again.approved, again.rejected, again.corrected, again.disputed) == (0, 0, 0, 1)
        assert store.con.execute("SELECT count(*) FROM reviews").fetchone()[0] == 8
        assert store.con.execute("SELECT count(*) FROM samples WHERE parent_id IS NOT NULL").fetchone()[0] == 1
        # Majority cannot settle a 1-1 split either; the record stays disputed until a third response.
        assert pull(store, client, rule="majority", min_submitted=2).disputed == 1
    pulled = runner.invoke(app, ["review", "pull", "--min-submitted", "2"])
    assert pulled.exit_code == 0 and "1 disputed" in pulled.output
    stats = json.loads(runner.invoke(app, ["review", "stats", "--json"]).stdout)
    assert [(r["reviewer"], r["submitted"], r["corrections"]) for r in stats["reviewers"]] == [
        ("ada", 4, 1),
        ("bo", 4, 0),
    ]
    assert stats["records"] == {"approved": 1, "rejected": 1, "corrected": 1, "responded, undecided": 1,
                                "awaiting a response": expected - 4}  # fmt: skip
    # Units (approve, approve), (reject, reject), (approve, approve), (approve, reject): alpha = 1 - 7 * 2 / 30.
    assert stats["agreement"]["decision"] == pytest.approx(0.5333, abs=1e-4)


@NO_STACK
def test_a_loop_round_reviewed_in_argilla(argilla, home, smollm2_home, tmp_path, monkeypatch):
    """Strategy 4 through Argilla: the loop pushes its proposals, stops (--no-wait), and the next run pulls
    the experts' responses and carries on to snapshot, train and eval."""
    from curation.samples import set_status

    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from labeling.argilla.client import connect

    with Store(home / "triforge.duckdb") as store:
        run_generator(store, "bug_injection", 6, seed=11)
        seeds = [r[0] for r in store.con.execute("SELECT id FROM samples WHERE validation = 'passed'").fetchall()]
        set_status(store, seeds, "approved", actor="expert:ada")
    config = tmp_path / "small.toml"
    config.write_text("max_length = 128\nper_device_batch_size = 1\ngradient_accumulation_steps = 1\n")
    base = smollm2_home / "models" / "smollm2-135m-instruct"
    args = [
        "loop", "--review", "argilla", "--n", "2", "--base-model", str(base),
        "--config", str(config), "--max-steps", "1", "--eval-limit", "1", "--max-new-tokens", "8",
        "--proposal-tokens", "16", "--no-wait", "--json",
    ]  # fmt: skip
    runner = CliRunner()
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)[0]["waiting_for"] == 2
    with Store(home / "triforge.duckdb", read_only=True) as store:
        proposals = [
            r[0] for r in store.con.execute("SELECT id FROM samples WHERE source_type = 'bootstrap'").fetchall()
        ]
    client = connect()
    dataset = client.datasets(name="triforge-debug-dialogue", workspace=client.workspaces("triforge"))
    uuids = {r.id: r._model.id for r in dataset.records()}
    assert set(proposals) <= set(uuids)  # pushed even though a 135M model's answers fail validation
    reviewer = _annotator(client, creds, "cy")
    _respond(creds, reviewer, uuids[proposals[0]], "approve", correction=GOOD_ANSWER)
    _respond(creds, reviewer, uuids[proposals[1]], "reject")
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)[0]["report"]
    assert report["decisions"] == {"superseded": 1, "rejected": 1} and report["approved_after_correction"] == 1
    with Store(home / "triforge.duckdb", read_only=True) as store:
        child = store.con.execute("SELECT id FROM samples WHERE parent_id = ?", [proposals[0]]).fetchone()[0]
        members = {r[0] for r in store.con.execute("SELECT revision_id FROM snapshot_members").fetchall()}
        via = store.con.execute("SELECT data->>'$.via' FROM loop_steps WHERE step = 'review'").fetchone()[0]
    assert child in members and via == "argilla"

"""Expert review against the real local Argilla 2.8 stack (argilla-server + noida-db), started once per
session with the same code as ``triforge labeling up``. Annotators answer through Argilla's REST API."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import httpx
import pytest
from typer.testing import CliRunner

from curation.store import Store
from curation.workspace import Workspace
from labeling.argilla.stack import LabelingStack, argilla_venv
from pipelines.generate import run_generator
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.factories import NO_STACK, TRIFORGE, chat_row, write_jsonl
from tests.local_http import free_port, serve_in_thread
from triforge.cli import app


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


@NO_STACK
def test_labeling_up_is_idempotent_and_keeps_credentials_private(argilla):
    stack, creds = argilla
    assert stack.status()["healthy"] and all(stack.status()["processes"].values())
    assert stack.credentials_file.stat().st_mode & 0o777 == 0o600
    assert creds.api_key not in ("argilla.apikey", "owner.apikey") and len(creds.api_key) >= 32
    pids = stack.state()["pids"]
    assert stack.up(port=int(creds.api_url.rsplit(":", 1)[1])) == creds and stack.state()["pids"] == pids


@NO_STACK
def test_a_failed_up_stops_what_it_started(tmp_path, monkeypatch):
    """The search engine starts, then the database migration fails: `up` reports it and leaves no
    orphan noida-db behind."""
    from labeling.argilla.stack import StackError, _alive

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "noida-db").symlink_to(argilla_venv() / "bin" / "noida-db")
    (venv / "bin" / "python").write_text("#!/bin/sh\necho 'migration broke' >&2\nexit 3\n")
    (venv / "bin" / "python").chmod(0o755)
    monkeypatch.setenv("TRIFORGE_ARGILLA_VENV", str(venv))
    stack = LabelingStack(tmp_path / "home")
    spawned = []
    real_spawn = stack._spawn
    monkeypatch.setattr(stack, "_spawn", lambda *args: spawned.append(real_spawn(*args)) or spawned[-1])
    with pytest.raises(StackError, match=r"database migrate failed.*migration broke"):
        stack.up(port=free_port())
    assert len(spawned) == 1  # noida-db did start
    assert not _alive(spawned[0])
    assert stack.state()["pids"] == {} and not any(stack.running().values())


@NO_STACK
def test_the_owner_is_created_and_rekeyed_from_secrets_on_stdin(argilla, monkeypatch):
    """`up` hands the owner's secrets to argilla-server over stdin (never argv, which `ps` shows); run
    again for an existing owner - its credentials file was lost - the old key stops working."""
    stack, creds = argilla
    commands = []
    real_run = stack._run
    monkeypatch.setattr(stack, "_run", lambda argv, *rest, **kw: commands.append(argv) or real_run(argv, *rest, **kw))

    def setup(password: str, api_key: str) -> str:
        outcome = stack.set_owner("probe-owner", password, api_key)
        assert not any(secret in arg for arg in commands[-1] for secret in (password, api_key))
        return outcome

    def me(api_key: str) -> httpx.Response:
        return httpx.get(f"{creds.api_url}/api/v1/me", headers={"X-Argilla-Api-Key": api_key})

    first_key, second_key = "probe-key-" + "a" * 32, "probe-key-" + "b" * 32
    assert setup("First-pass-123", first_key) == "created"
    assert me(first_key).status_code == 200 and me(first_key).json()["role"] == "owner"
    assert setup("Second-pass-456", second_key) == "re-keyed"
    assert me(first_key).status_code == 401 and me(second_key).json()["username"] == "probe-owner"
    login = {"username": "probe-owner", "password": "Second-pass-456"}
    assert httpx.post(f"{creds.api_url}/api/v1/token", data=login).status_code == 201
    assert me(creds.api_key).json()["username"] == creds.username  # the stack's own owner is untouched


@NO_STACK
def test_push_sends_embeddings_and_cluster_sizes_for_similarity_search(argilla, home, tmp_path, monkeypatch):
    """Vectors come from dedup's embedding index (recomputed only for samples it has not seen), and the
    UI can filter by the near-duplicate cluster a sample represents."""
    import argilla as rg

    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from curation.dedup.run import DedupConfig, run_dedup
    from curation.importers import import_file
    from curation.validators.runner import validate_samples
    from labeling.argilla.client import ArgillaTarget, connect
    from labeling.argilla.push import push

    twin = GOOD_ANSWER.replace("swallows the next opcode byte", "swallows the following opcode byte")
    rows = [chat_row(GOOD_QUESTION, GOOD_ANSWER), chat_row(GOOD_QUESTION, twin)]
    client = connect(target=ArgillaTarget.from_environ())
    with Workspace(home) as ws:
        store = ws.store
        import_file(ws, write_jsonl(tmp_path / "twins.jsonl", rows), source_name="twins")
        run_dedup(ws, config=DedupConfig(methods=("exact", "minhash", "embedding")))  # the twins: one cluster
        run_generator(ws, "bug_injection", 3, seed=41)  # not seen by dedup: embedded at push time
        validate_samples(ws)
        expected = store.con.execute(
            "SELECT id, source_name FROM samples WHERE validation = 'passed' AND duplicate_of IS NULL"
        ).fetchall()
        summary = push(ws, client, batch_size=2)
    by_source = {name: rid for rid, name in expected}
    assert len(expected) >= 3 and summary.sent == len(expected) and summary.vectors == len(expected)
    dataset = client.datasets(name="triforge-debug-dialogue", workspace=client.workspaces("triforge"))
    records = {r.id: r for r in dataset.records(with_vectors=True) if r.id in dict(expected)}
    assert len(records) == len(expected)
    assert all(len(r.vectors["embedding"]) == 384 for r in records.values())
    sizes = {rid: records[rid].metadata["duplicate_cluster_size"] for rid, _ in expected}
    assert sizes.pop(by_source["twins"]) == 2 and set(sizes.values()) == {1}
    # "Find similar" in Argilla: a sample's own vector finds itself first.
    probe = next(rid for rid, name in expected if name != "twins")
    similar = rg.Query(similar=rg.Similar(name="embedding", value=records[probe].vectors["embedding"]))
    top = next(iter(dataset.records(query=similar, limit=1)))
    top = top[0] if isinstance(top, tuple) else top
    assert top.id == probe

    # Argilla cannot add labels to a published question: a category it lacks is sent as metadata only.
    fresh = chat_row(GOOD_QUESTION.replace("crashes", "hangs"), GOOD_ANSWER, category="zz_unheard_of")
    with Workspace(home) as ws:
        store = ws.store
        import_file(ws, write_jsonl(tmp_path / "fresh.jsonl", [fresh]), source_name="fresh")
        validate_samples(ws, "source_name = fresh")
        newcomer = store.con.execute("SELECT id FROM samples WHERE source_name = 'fresh'").fetchone()[0]
        assert push(ws, client).sent == 1
    record = next(r for r in dataset.records(with_suggestions=True) if r.id == newcomer)
    assert record.metadata["sample_category"] == "zz_unheard_of" and "category" not in record.suggestions


@NO_STACK
def test_a_legacy_answer_is_pushed_with_its_repair_as_the_suggested_correction(
    argilla, home, tmp_path, field_dir, monkeypatch
):
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from curation.importers import import_file
    from curation.repairs import propose_repairs
    from curation.validators.runner import validate_samples
    from labeling.argilla.client import ArgillaTarget, connect
    from labeling.argilla.push import push

    legacy_row = json.loads((field_dir / "farore_debugging_training.jsonl").read_text().splitlines()[0])
    client = connect(target=ArgillaTarget.from_environ())
    with Workspace(home) as ws:
        store = ws.store
        import_file(ws, write_jsonl(tmp_path / "legacy.jsonl", [legacy_row]), source_name="legacy")
        validate_samples(ws)
        (outcome,) = propose_repairs(ws).outcomes
        repaired = store.con.execute("SELECT messages FROM revisions WHERE id = ?", [outcome.repair_id]).fetchone()
        summary = push(ws, client, where=f"id = {outcome.parent_id}", vectors=False)
    assert summary.sent == 1 and summary.repair_suggestions == 1
    dataset = client.datasets(name="triforge-debug-dialogue", workspace=client.workspaces("triforge"))
    record = next(r for r in dataset.records(with_suggestions=True) if r.id == outcome.parent_id)
    suggestion = record.suggestions["corrected_answer"]
    assert suggestion.value == json.loads(repaired[0])[-1]["content"] and suggestion.agent == "triforge-repair-v1"
    assert record.fields["answer"] == legacy_row["messages"][-1]["content"]  # the original is what is reviewed


@NO_STACK
def test_a_classified_sample_carries_its_predicted_labels_into_argilla(argilla, home, tmp_path, field_dir, monkeypatch):
    """A sample nobody categorised gets the classifier's category as a scored suggestion; every prediction
    is metadata the UI filters by."""
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from curation.classify.predictions import predictions_for
    from curation.classify.service import classify
    from curation.importers import import_file
    from labeling.argilla.client import ArgillaTarget, connect
    from labeling.argilla.push import push

    bench = [json.loads(line) for line in (field_dir / "farore_benchmark.jsonl").read_text().splitlines()]
    labelled = [r for r in bench if r["category"] in ("mode_mismatch", "carry_flag")]
    uncategorised = json.loads((field_dir / "farore_debugging_training.jsonl").read_text().splitlines()[1])
    client = connect(target=ArgillaTarget.from_environ())
    with Workspace(home) as ws:
        store = ws.store
        import_file(ws, write_jsonl(tmp_path / "bench.jsonl", labelled), source_name="bench")
        import_file(ws, write_jsonl(tmp_path / "chat.jsonl", [uncategorised]), source_name="uncategorised")
        report = classify(ws, tasks=("category", "intent"))
        rid = store.con.execute("SELECT id FROM samples WHERE source_name = 'uncategorised'").fetchone()[0]
        predicted = predictions_for(ws, [rid])[rid]
        summary = push(ws, client, where=f"id = {rid}", vectors=False)
    assert summary.sent == 1 and summary.predicted_categories == 1
    assert set(predicted) == {"category"} and report.tasks[1].skipped  # every sample here debugs: one intent
    dataset = client.datasets(name="triforge-debug-dialogue", workspace=client.workspaces("triforge"))
    record = next(r for r in dataset.records(with_suggestions=True) if r.id == rid)
    suggestion = record.suggestions["category"]
    assert (suggestion.value, suggestion.agent) == (predicted["category"].label, "triforge-classifier-v1")
    assert suggestion.score == pytest.approx(predicted["category"].score, abs=1e-4)
    assert record.metadata["predicted_category"] == predicted["category"].label
    assert record.metadata["predicted_category_score"] == pytest.approx(predicted["category"].score, abs=1e-4)
    assert "predicted_intent" not in record.metadata
    assert {"predicted_category", "predicted_intent_score"} <= {m.name for m in dataset.settings.metadata}


@NO_STACK
def test_an_older_dataset_is_upgraded_with_the_vector_field(argilla, monkeypatch):
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from labeling.argilla.client import ArgillaTarget, connect
    from labeling.argilla.datasets import dataset_vector_dim, ensure_dataset

    client = connect(target=ArgillaTarget.from_environ())
    legacy = ensure_dataset(client, "legacy_kind", ["mode_mismatch", "bank_wrap"], 1, vector_dim=None)
    assert dataset_vector_dim(legacy) is None
    upgraded = ensure_dataset(client, "legacy_kind", ["mode_mismatch", "bank_wrap"], 1, vector_dim=384)
    fresh = client.datasets(name="triforge-legacy-kind", workspace=client.workspaces("triforge"))
    assert upgraded.id == legacy.id and dataset_vector_dim(fresh) == 384
    assert "duplicate_cluster_size" in [m.name for m in fresh.settings.metadata]


@NO_STACK
def test_push_pull_consensus_and_corrections(argilla, home, monkeypatch):
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from labeling.argilla.client import ArgillaTarget, connect
    from labeling.argilla.pull import pull

    with Workspace(home) as ws:
        store = ws.store
        run_generator(ws, "bug_injection", 8, seed=5)
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

    client = connect(target=ArgillaTarget.from_environ())
    dataset = client.datasets(name="triforge-debug-dialogue", workspace=client.workspaces("triforge"))
    with Store(home / "triforge.duckdb", read_only=True) as store:
        in_review = [
            r[0] for r in store.con.execute("SELECT id FROM samples WHERE status = 'in_review' ORDER BY id").fetchall()
        ]
    # The session's tests share the dataset: these are the records this store sent.
    records = {r.id: r for r in dataset.records(with_suggestions=True) if r.id in in_review}
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

    with Workspace(home) as ws:
        store = ws.store
        summary = pull(ws, client, rule="unanimous", min_submitted=2)
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
        assert store.con.execute("SELECT count(*) FROM reviews WHERE responded_at IS NULL").fetchone()[0] == 0
        actors = {
            r[0] for r in store.con.execute("SELECT actor FROM status_events WHERE status = 'approved'").fetchall()
        }
        assert actors == {"argilla:ada", "argilla:bo"}
        # A second pull changes nothing: responses are upserted and outcomes applied once.
        again = pull(ws, client, rule="unanimous", min_submitted=2)
        assert (again.approved, again.rejected, again.corrected, again.disputed) == (0, 0, 0, 1)
        assert store.con.execute("SELECT count(*) FROM reviews").fetchone()[0] == 8
        assert store.con.execute("SELECT count(*) FROM samples WHERE parent_id IS NOT NULL").fetchone()[0] == 1
        # Majority cannot settle a 1-1 split either; the record stays disputed until a third response.
        assert pull(ws, client, rule="majority", min_submitted=2).disputed == 1
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

    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from labeling.argilla.client import ArgillaTarget, connect

    with Workspace(home) as ws:
        store = ws.store
        run_generator(ws, "bug_injection", 6, seed=11)
        seeds = [r[0] for r in store.con.execute("SELECT id FROM samples WHERE validation = 'passed'").fetchall()]
        ws.samples.set_status(seeds, "approved", actor="expert:ada")
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
    client = connect(target=ArgillaTarget.from_environ())
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


def _push_fresh_samples(home, n: int, seed: int, min_submitted: int = 1) -> list[str]:
    with Workspace(home) as ws:
        run_generator(ws, "bug_injection", n, seed=seed)
    pushed = CliRunner().invoke(app, ["review", "push", "--min-submitted", str(min_submitted), "--no-vectors"])
    assert pushed.exit_code == 0, pushed.output
    with Store(home / "triforge.duckdb", read_only=True) as store:
        return [r[0] for r in store.con.execute("SELECT revision_id FROM argilla_records ORDER BY 1").fetchall()]


def _record_uuids(client) -> dict[str, str]:
    dataset = client.datasets(name="triforge-debug-dialogue", workspace=client.workspaces("triforge"))
    return {r.id: r._model.id for r in dataset.records()}


def _outcome_ledger(store) -> dict[str, object]:
    """Everything a pull writes, in a form two stores can be compared by."""
    query = store.con.execute
    return {
        "outcomes": sorted(query("SELECT revision_id, outcome FROM review_outcomes").fetchall()),
        "reviews": sorted(query("SELECT revision_id, reviewer, decision, corrected_answer FROM reviews").fetchall()),
        "events": sorted(
            query(
                "SELECT revision_id, status, actor, count(*) FROM status_events "
                "WHERE actor LIKE 'argilla:%' GROUP BY ALL"
            ).fetchall()
        ),
        "corrections": query(
            "SELECT count(*), count(DISTINCT parent_id) FROM revisions WHERE parent_id IS NOT NULL"
        ).fetchone(),
        "cursors": query("SELECT count(*) FROM argilla_pull_cursors").fetchone()[0],
    }


@NO_STACK
def test_a_pull_killed_midway_resumes_and_loses_or_duplicates_nothing(argilla, home, tmp_path, monkeypatch):
    """SIGKILL a real `triforge review pull` after its third page; the rerun resumes at the stored cursor,
    and the store ends exactly as an uninterrupted pull leaves a copy of it."""
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from labeling.argilla.client import ArgillaTarget, connect

    ids = _push_fresh_samples(home, 14, seed=23)
    assert len(ids) >= 9
    client = connect(target=ArgillaTarget.from_environ())
    uuids, reviewer = _record_uuids(client), _annotator(client, creds, "dee")
    expected = {}
    for i, rid in enumerate(ids):  # reject, correct, approve, reject, correct, approve, ...
        decision = "reject" if i % 3 == 0 else "approve"
        _respond(creds, reviewer, uuids[rid], decision, correction=GOOD_ANSWER if i % 3 == 1 else None)
        expected[rid] = {0: "rejected", 1: "corrected", 2: "approved"}[i % 3]
    db = home / "triforge.duckdb"
    reference_home = tmp_path / "reference"
    reference_home.mkdir()
    shutil.copy(db, reference_home / "triforge.duckdb")

    env = {**os.environ, "TRIFORGE_HOME": str(home)}
    command = [TRIFORGE, "--log-level", "info", "review", "pull", "--page-size", "1"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pages = 0
    for line in proc.stderr:
        pages += "stored (" in line
        if pages == 3:
            break
    assert pages == 3 and proc.poll() is None, "the pull ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Store(db, read_only=True) as store:
        killed = _outcome_ledger(store)
    assert 3 <= len(killed["outcomes"]) < len(ids) and killed["cursors"] == 1

    resumed = CliRunner().invoke(app, ["review", "pull", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert list(json.loads(resumed.stdout)["resumed_from"]) == ["triforge-debug-dialogue"]
    monkeypatch.setenv("TRIFORGE_HOME", str(reference_home))
    assert CliRunner().invoke(app, ["review", "pull"]).exit_code == 0
    with Store(db, read_only=True) as store, Store(reference_home / "triforge.duckdb", read_only=True) as ref:
        after, uninterrupted = _outcome_ledger(store), _outcome_ledger(ref)
    assert after == uninterrupted
    assert dict(after["outcomes"]) == expected and len(after["reviews"]) == len(ids)
    corrected = sum(o == "corrected" for o in expected.values())
    assert after["corrections"] == (corrected, corrected) and after["cursors"] == 0
    assert all(count == 1 for *_, count in after["events"])  # no status change applied twice


@NO_STACK
def test_the_webhook_listener_pulls_records_as_argilla_completes_them(argilla, home, monkeypatch):
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from labeling.argilla.client import ArgillaTarget, connect

    ids = _push_fresh_samples(home, 4, seed=31, min_submitted=2)[:2]
    client = connect(target=ArgillaTarget.from_environ())
    uuids = _record_uuids(client)
    ada, bo = _annotator(client, creds, "ada"), _annotator(client, creds, "bo")
    port = free_port()
    url = f"http://127.0.0.1:{port}/argilla/webhook"
    env = {**os.environ, "TRIFORGE_HOME": str(home)}
    listener = subprocess.Popen(
        [TRIFORGE, "review", "listen", "--port", str(port), "--min-submitted", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        health = _wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/health").json(), 120)
        assert health["deliveries"] == 0
        assert [w.url for w in client.webhooks if w.url == url] == [url]
        forged = httpx.post(url, json={"type": "record.completed", "data": {"external_id": ids[0]}},
                            headers={"webhook-id": "msg_forged", "webhook-timestamp": str(int(time.time())),
                                     "webhook-signature": "v1,Zm9yZ2Vk"})  # fmt: skip
        assert forged.status_code == 401

        _respond(creds, ada, uuids[ids[0]], "approve")
        _respond(creds, bo, uuids[ids[0]], "approve")
        _respond(creds, ada, uuids[ids[1]], "reject")
        _respond(creds, bo, uuids[ids[1]], "reject")
        # Deliveries can outnumber decisions (a retry, a record completed twice): wait until none is pending.
        health = _wait_for(
            lambda: (
                (h := httpx.get(f"http://127.0.0.1:{port}/health").json())["decided"] == 2 and h["pending"] == 0 and h
            ),
            90,
        )
        assert health["refused"] == 1 and health["deliveries"] >= 2 and health["pending"] == 0
    finally:
        listener.send_signal(signal.SIGINT)
        output = listener.communicate(timeout=60)[0]
    assert listener.returncode == 0, output
    assert url not in [w.url for w in client.webhooks]  # unregistered on exit
    with Workspace(home, read_only=True) as ws:
        store = ws.store
        outcomes = ws.reviews.outcomes()
        statuses = dict(store.con.execute("SELECT id, status FROM samples").fetchall())
    assert outcomes == {ids[0]: "approved", ids[1]: "rejected"}
    assert (statuses[ids[0]], statuses[ids[1]]) == ("approved", "rejected")


@NO_STACK
def test_the_service_pulls_completed_records_into_the_store_it_holds(argilla, home, monkeypatch):
    """`triforge serve --argilla-webhook-url`: the service owns the store, so it is the one to pull -
    records completed before it started by its catch-up pull, the rest as Argilla delivers them."""
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from labeling.api.app import create_app
    from labeling.api.settings import ServiceSettings
    from labeling.argilla.client import ArgillaTarget, connect, connector

    early, late = _push_fresh_samples(home, 3, seed=37, min_submitted=2)[:2]
    client = connect(target=ArgillaTarget.from_environ())
    records = _record_uuids(client)
    ada, bo = _annotator(client, creds, "ada"), _annotator(client, creds, "bo")
    _respond(creds, ada, records[early], "approve")
    _respond(creds, bo, records[early], "approve")
    port = free_port()
    url = f"http://127.0.0.1:{port}/argilla/webhook"
    settings = ServiceSettings(argilla_webhook_url=url, review_min_submitted=2)
    service = create_app(home, settings, argilla=connector(home, ArgillaTarget.from_environ()))
    with serve_in_thread(service, port=port):
        assert [w.url for w in client.webhooks if w.url == url] == [url]
        _wait_for(lambda: httpx.get(url).json()["decided"] == 1, 60)  # the catch-up pull
        _respond(creds, ada, records[late], "reject")
        _respond(creds, bo, records[late], "reject")
        status = _wait_for(lambda: (s := httpx.get(url).json())["decided"] == 2 and s, 90)
        assert status["deliveries"] >= 1 and status["refused"] == 0
    assert url not in [w.url for w in client.webhooks]
    with Store(home / "triforge.duckdb", read_only=True) as store:
        rows = store.con.execute("SELECT id, status FROM samples WHERE id IN (?, ?)", [early, late]).fetchall()
    assert dict(rows) == {early: "approved", late: "rejected"}


def _wait_for(probe, seconds: float):
    """Poll ``probe`` until it returns something truthy (connection errors count as not yet)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = probe()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


@NO_STACK
def test_push_sends_a_failing_sample_with_a_repair_first_and_numbers_the_order(
    argilla, home, tmp_path, field_dir, monkeypatch
):
    """``--order useful``: the legacy answer that fails validation but carries a proposed repair is the
    first record of its dataset (``review_priority`` 1); ``--order`` is checked before anything is sent."""
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from curation.importers import import_file
    from curation.repairs import propose_repairs
    from curation.validators.runner import validate_samples
    from curation.workspace import Workspace

    legacy_row = json.loads((field_dir / "farore_debugging_training.jsonl").read_text().splitlines()[1])
    good = chat_row(GOOD_QUESTION, GOOD_ANSWER + "\n\nTested on hardware.", category="mode_mismatch")
    with Workspace(home) as ws:
        import_file(ws, write_jsonl(tmp_path / "mixed.jsonl", [legacy_row, good]), source_name="ordered")
        validate_samples(ws)
        (outcome,) = propose_repairs(ws).outcomes
        others = [i for i in ws.samples.all_ids() if i not in (outcome.parent_id, outcome.repair_id)]
    runner = CliRunner()
    refused = runner.invoke(app, ["review", "push", "--order", "random", "--where", "source_name = ordered"])
    assert refused.exit_code == 2 and "unknown review order" in refused.output
    pushed = runner.invoke(
        app, ["review", "push", "--where", "source_name = ordered", "--no-vectors", "--order", "useful", "--json"]
    )
    assert pushed.exit_code == 0, pushed.output
    summary = json.loads(pushed.stdout)
    assert summary["sent"] == 2 and summary["first"] == {"triforge-debug-dialogue": outcome.parent_id}
    from labeling.argilla.client import ArgillaTarget, connect

    client = connect(target=ArgillaTarget(creds.api_url, creds.api_key))
    dataset = client.datasets(name="triforge-debug-dialogue", workspace=client.workspaces("triforge"))
    priority = {
        r.id: r.metadata.get("review_priority") for r in dataset.records() if r.id in {outcome.parent_id, *others}
    }
    assert priority == {outcome.parent_id: 1, others[0]: 2}

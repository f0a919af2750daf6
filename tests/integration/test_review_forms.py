"""Reviewers and the per-kind review forms, against the real local Argilla stack (the session's
``argilla`` fixture, shared with test_review.py). Reviewers answer through Argilla's REST API as the
annotator users ``triforge reviewers add`` made."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
from typer.testing import CliRunner

from curation.workspace import Workspace
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.factories import NO_STACK, TRIFORGE, chat_row, write_jsonl
from triforge.cli import app


def _use(creds, monkeypatch) -> None:
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)


def _login(creds, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{creds.api_url}/api/v1/token", data={"username": username, "password": password})


def _bearer(creds, username: str, password: str) -> dict[str, str]:
    token = _login(creds, username, password)
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _submit(creds, headers, record_uuid: str, values: dict[str, object]) -> None:
    reply = httpx.post(
        f"{creds.api_url}/api/v1/records/{record_uuid}/responses",
        headers=headers,
        json={"values": {q: {"value": v} for q, v in values.items()}, "status": "submitted"},
    )
    assert reply.status_code == 201, reply.text


@NO_STACK
def test_reviewers_add_list_reset_and_remove_with_no_password_on_a_command_line(argilla, home, monkeypatch):
    _, creds = argilla
    _use(creds, monkeypatch)
    runner = CliRunner()
    env = {**os.environ, "TRIFORGE_HOME": str(home)}

    # A generated password, shown once - by a real process whose argv holds no secret.
    argv = [TRIFORGE, "reviewers", "add", "rhea", "--json"]
    made = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    rhea = json.loads(made.stdout)
    assert rhea["role"] == "annotator" and rhea["in_workspace"] and rhea["url"] == creds.api_url
    assert len(rhea["password"]) >= 16 and rhea["password"] not in " ".join(argv)
    assert _login(creds, "rhea", rhea["password"]).status_code == 201

    # A curator's password from stdin: Argilla's admin role, in the Triforge workspace only.
    argv = [TRIFORGE, "reviewers", "add", "cato", "--role", "curator", "--password-stdin"]
    made = subprocess.run(argv, env=env, input="Curator-pass-123\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert "Curator-pass-123" not in made.stdout and "signs in at" in made.stdout
    me = httpx.get(f"{creds.api_url}/api/v1/me", headers=_bearer(creds, "cato", "Curator-pass-123")).json()
    assert me["role"] == "admin"
    workspaces = httpx.get(
        f"{creds.api_url}/api/v1/users/{me['id']}/workspaces", headers={"X-Argilla-Api-Key": creds.api_key}
    ).json()
    assert [w["name"] for w in workspaces["items"]] == ["triforge"]

    # There is no way to pass a password as an argument; a name taken is refused.
    assert runner.invoke(app, ["reviewers", "add", "eve", "--password", "Secret-pass-1"]).exit_code == 2
    again = runner.invoke(app, ["reviewers", "add", "rhea"])
    assert again.exit_code == 2 and "exists" in again.output
    listed = json.loads(runner.invoke(app, ["reviewers", "list", "--json"]).stdout)
    assert {(r["username"], r["role"], r["in_workspace"]) for r in listed} >= {
        ("rhea", "annotator", True),
        ("cato", "curator", True),
    }
    assert "eve" not in {r["username"] for r in listed} and creds.username not in {r["username"] for r in listed}

    reset = runner.invoke(app, ["reviewers", "reset-password", "rhea", "--password-stdin"], input="Rhea-new-pass-9\n")
    assert reset.exit_code == 0, reset.output
    assert _login(creds, "rhea", rhea["password"]).status_code == 401
    assert _login(creds, "rhea", "Rhea-new-pass-9").status_code == 201
    assert runner.invoke(app, ["reviewers", "reset-password", "nobody"]).exit_code == 2
    owner = runner.invoke(app, ["reviewers", "reset-password", creds.username])
    assert owner.exit_code == 2 and "owner" in owner.output

    assert runner.invoke(app, ["reviewers", "remove", "cato"]).exit_code == 0
    assert runner.invoke(app, ["reviewers", "remove", "rhea", "--delete"]).exit_code == 0
    listed = {r["username"]: r for r in json.loads(runner.invoke(app, ["reviewers", "list", "--json"]).stdout)}
    assert not listed["cato"]["in_workspace"] and "rhea" not in listed
    assert _login(creds, "rhea", "Rhea-new-pass-9").status_code == 401

    status = json.loads(runner.invoke(app, ["labeling", "status", "--json"]).stdout)
    assert status["ui_url"] == creds.api_url  # the address to hand reviewers


def _legacy_settings(categories: list[str]):
    """The one generic form every kind had before per-kind forms (form version 1)."""
    import argilla as rg

    return rg.Settings(
        guidelines="Approve only good answers.",
        fields=[
            rg.TextField(name="prompt", use_markdown=True),
            rg.TextField(name="answer", use_markdown=True),
            rg.TextField(name="validator_report", use_markdown=True, required=False),
        ],
        questions=[
            rg.LabelQuestion(name="decision", labels=["approve", "reject"]),
            rg.TextQuestion(name="corrected_answer", required=False, use_markdown=True),
            rg.LabelQuestion(name="category", labels=categories, required=False),
            rg.RatingQuestion(name="rating", values=[1, 2, 3, 4, 5], required=False),
            rg.TextQuestion(name="notes", required=False),
        ],
    )


EXPLANATIONS = (
    "Explain what STZ $4200 does at the start of the reset handler.",
    "STZ $4200 writes zero to NMITIMEN, the CPU register that enables the vertical blank NMI, the H/V timer "
    "interrupts and automatic joypad reading, so none of them fires while the reset code sets up the PPU.",
    "Explain what LDA #$80 : STA $2100 does before a DMA to VRAM.",
    "Writing $80 to INIDISP ($2100) turns on forced blank: the PPU stops drawing, so VRAM, CGRAM and OAM "
    "can be written at any time, not only during vertical blank, and the DMA to VRAM is not corrupted.",
)


@NO_STACK
def test_a_quest_and_a_dialogue_reviewed_with_their_own_forms(argilla, home_with_map, tmp_path, monkeypatch):
    """Each kind gets its form: a quest's design and implementation apart, a dialogue's code, symptom and
    answer apart, a readable validator report; a reviewer's answers become decisions, corrections of
    either half of the quest (one new revision), and tags stored with the review."""
    home = home_with_map
    _, creds = argilla
    _use(creds, monkeypatch)
    from curation.importers import import_file
    from curation.validators.runner import validate_samples
    from labeling.argilla.client import ArgillaTarget, connect
    from labeling.argilla.pull import pull
    from labeling.argilla.push import push
    from pipelines.generate import run_generator

    client = connect(target=ArgillaTarget.from_environ())
    dialogue = chat_row(GOOD_QUESTION, GOOD_ANSWER, category="mode_mismatch")
    with Workspace(home) as ws:
        store = ws.store
        import_file(ws, write_jsonl(tmp_path / "dialogue.jsonl", [dialogue]), source_name="forms-dialogue")
        run_generator(ws, "quest_templates", 1, seed=17)
        validate_samples(ws)
        ids = dict(store.con.execute("SELECT kind, id FROM samples WHERE validation = 'passed'").fetchall())
        quest_row = store.con.execute("SELECT messages FROM samples WHERE id = ?", [ids["quest_implementation"]])
        quest_turns = json.loads(quest_row.fetchone()[0])
        summary = push(ws, client, vectors=False)
    assert summary.datasets == {"triforge-debug-dialogue": 1, "triforge-quest-implementation": 1}
    workspace = client.workspaces("triforge")

    quests = client.datasets(name="triforge-quest-implementation", workspace=workspace)
    assert [f.name for f in quests.settings.fields] == ["design", "implementation", "validator_report"]
    assert {"realises", "hook_ok", "flag_ok", "message_ok", "canon", "difficulty", "corrected_design"} <= {
        q.name for q in quests.settings.questions
    }
    assert "Hook point" in quests.settings.guidelines and "SRAM" in quests.settings.guidelines
    quest = next(r for r in quests.records(with_suggestions=True) if r.id == ids["quest_implementation"])
    assert quest.fields["design"] == quest_turns[0]["content"]
    assert quest.fields["implementation"] == quest_turns[-1]["content"]
    assert (
        "checks passed" in quest.fields["validator_report"]
        and "Code assembles (Asar)" in quest.fields["validator_report"]
    )
    assert quest.suggestions["decision"].value == "approve" and quest.suggestions["category"].value

    dialogues = client.datasets(name="triforge-debug-dialogue", workspace=workspace)
    assert {"buggy_code", "symptom", "answer", "validator_report"} == {f.name for f in dialogues.settings.fields}
    record = next(r for r in dialogues.records(with_suggestions=True) if r.id == ids["debug_dialogue"])
    assert record.fields["buggy_code"].startswith("```asm\nReadValue:") and "REP #$20" in record.fields["buggy_code"]
    assert record.fields["symptom"].startswith("After calling ReadValue") and "```" not in record.fields["symptom"]
    assert record.fields["answer"] == GOOD_ANSWER
    assert record.suggestions["category"].value == "mode_mismatch"
    assert "Diagnosis-first format" in record.fields["validator_report"]

    runner = CliRunner()
    added = runner.invoke(app, ["reviewers", "add", "quinn", "--password-stdin"], input="Quinn-pass-123\n")
    assert added.exit_code == 0, added.output
    quinn = _bearer(creds, "quinn", "Quinn-pass-123")
    design = quest_turns[0]["content"] + "\nNote: the boy only appears after the first dungeon."
    implementation = quest_turns[-1]["content"] + "\n\nTested on a fresh save and on a save with the flag set."
    _submit(creds, quinn, quest._model.id, {
        "decision": "approve", "realises": "partly", "hook_ok": "no", "flag_ok": "yes", "canon": "consistent",
        "difficulty": 2, "corrected_design": design, "corrected_answer": implementation,
    })  # fmt: skip
    verdict = {"decision": "reject", "diagnosis_matches": "no", "category": "register_clobber"}
    _submit(creds, quinn, record._model.id, verdict)

    with Workspace(home) as ws:
        store = ws.store
        pulled = pull(ws, client)
        assert (pulled.corrected, pulled.rejected) == (1, 1)
        reviews = {r.revision_id: (r.decision, r.category, r.answers or None) for r in ws.reviews.by_reviewer("quinn")}
        child = store.con.execute(
            "SELECT id, status, validation, messages FROM samples WHERE parent_id = ?", [ids["quest_implementation"]]
        ).fetchone()
        status = dict(store.con.execute("SELECT id, status FROM samples").fetchall())
    assert reviews[ids["quest_implementation"]] == ("approve", None, {
        "realises": "partly", "hook_ok": "no", "flag_ok": "yes", "canon": "consistent", "difficulty": 2,
        "corrected_design": design,
    })  # fmt: skip
    assert reviews[ids["debug_dialogue"]] == ("reject", "register_clobber", {"diagnosis_matches": "no"})
    # One new revision corrects both halves; it passes validation and is the one approved.
    turns = json.loads(child[3])
    assert (turns[0]["content"], turns[-1]["content"]) == (design, implementation)
    assert child[1:3] == ("approved", "passed")
    assert status[ids["quest_implementation"]] == "superseded" and status[ids["debug_dialogue"]] == "rejected"
    # A curator sees every answer of the expert's form on the sample itself.
    shown = runner.invoke(app, ["samples", "show", ids["debug_dialogue"], "--json"])
    assert shown.exit_code == 0, shown.output
    # (the session's Argilla is shared: other tests' reviewers may have answered the same content too)
    [review] = [r for r in json.loads(shown.stdout)["reviews"] if r["reviewer"] == "quinn"]
    assert (review["reviewer"], review["decision"], review["answers"]) == (
        "quinn",
        "reject",
        {"diagnosis_matches": "no"},
    )
    table = runner.invoke(app, ["samples", "show", ids["quest_implementation"]])
    assert table.exit_code == 0 and "Reviews" in table.output and "quinn" in table.output


@NO_STACK
def test_a_dataset_with_the_old_generic_form_stays_readable_and_new_records_get_a_versioned_one(
    argilla, home, tmp_path, monkeypatch
):
    """Argilla cannot add fields or questions to a published dataset: the old one keeps its records and
    responses (and pull still reads them); new records go to ``<name>-v2`` with the current form."""
    import argilla as rg

    from curation.importers import import_file
    from curation.validators.runner import validate_samples
    from labeling.argilla.client import ArgillaTarget, connect
    from labeling.argilla.datasets import ensure_workspace, known_categories
    from labeling.argilla.pull import pull
    from labeling.argilla.push import push

    _, creds = argilla
    _use(creds, monkeypatch)
    client = connect(target=ArgillaTarget.from_environ())
    rows = [chat_row(q, a, kind="asm_explain") for q, a in zip(EXPLANATIONS[::2], EXPLANATIONS[1::2], strict=True)]
    with Workspace(home) as ws:
        store = ws.store
        import_file(ws, write_jsonl(tmp_path / "explain.jsonl", rows), source_name="explain")
        validate_samples(ws)
        old, new = (
            r[0]
            for r in store.con.execute(
                "SELECT id FROM samples WHERE source_name = 'explain' ORDER BY messages->>'$[0].content' DESC"
            ).fetchall()
        )
        # An older Triforge pushed the first sample into the generic form.
        legacy = rg.Dataset(
            name="triforge-asm-explain", workspace=ensure_workspace(client),
            settings=_legacy_settings(known_categories(ws)), client=client,
        ).create()  # fmt: skip
        legacy.records.log([rg.Record(id=old, fields={"prompt": EXPLANATIONS[0], "answer": EXPLANATIONS[1]})])
        with store.transaction():
            store.con.execute("INSERT INTO argilla_records VALUES (?, 'triforge-asm-explain', now())", [old])
            ws.samples.set_status([old], "in_review", actor="argilla", reason="triforge-asm-explain")
        summary = push(ws, client, where="source_name = explain", vectors=False)
    assert summary.sent == 1 and summary.datasets == {"triforge-asm-explain-v2": 1}
    current = client.datasets(name="triforge-asm-explain-v2", workspace=client.workspaces("triforge"))
    assert {"hardware_accurate", "explains_the_code"} <= {q.name for q in current.settings.questions}

    added = CliRunner().invoke(app, ["reviewers", "add", "vera", "--password-stdin"], input="Vera-pass-1234\n")
    assert added.exit_code == 0, added.output
    vera = _bearer(creds, "vera", "Vera-pass-1234")
    old_uuid = next(r._model.id for r in legacy.records() if r.id == old)
    new_uuid = next(r._model.id for r in current.records() if r.id == new)
    _submit(creds, vera, old_uuid, {"decision": "approve", "rating": 4})
    _submit(creds, vera, new_uuid, {"decision": "approve", "hardware_accurate": "yes", "explains_the_code": "partly"})
    with Workspace(home) as ws:
        store = ws.store
        assert pull(ws, client).approved == 2
        reviews = dict(store.con.execute("SELECT revision_id, answers FROM reviews WHERE reviewer = 'vera'").fetchall())
        rating = store.con.execute("SELECT rating FROM reviews WHERE revision_id = ?", [old]).fetchone()[0]
    assert reviews[old] is None and rating == 4
    assert json.loads(reviews[new]) == {"explains_the_code": "partly", "hardware_accurate": "yes"}

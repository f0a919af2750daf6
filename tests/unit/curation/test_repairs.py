"""``triforge propose repairs``: legacy answers restructured diagnosis-first, linked, validated, idempotent."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from curation.importers import import_file
from curation.repairs import REPAIR_SOURCE, latest_repairs, propose_repairs
from curation.repairs.legacy import parse_legacy
from curation.store import Store
from curation.validators.diagnosis_first import DiagnosisFirst
from curation.validators.runner import validate_samples
from curation.validators.terminology import Terminology
from curation.workspace import Workspace
from tests.factories import chat_row, write_jsonl
from tests.local_http import serve_in_thread
from triforge.cli import app

FENCED = re.compile(r"^```.*?^```$", re.S | re.M)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _count(store: Store, table: str) -> int:
    return store.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _field_id(store: Store, source: str, needle: str) -> str:
    rows = store.con.execute(
        "SELECT id FROM samples WHERE source_name = ? AND contains(CAST(messages AS VARCHAR), ?)", [source, needle]
    ).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def test_a_real_legacy_answer_is_restructured_kept_linked_and_rerun_is_a_no_op(validated_workspace):
    workspace = validated_workspace
    store = workspace.store
    parent_id = _field_id(store, "farore_debugging_training.jsonl", "This code crashes. What's wrong?")
    parent = workspace.samples.get(parent_id)
    assert DiagnosisFirst().validate(parent.revision).details["variant"] == "legacy"

    report = propose_repairs(workspace)
    outcome = next(o for o in report.outcomes if o.parent_id == parent_id)
    assert outcome.repair_id is not None and outcome.new and outcome.reason is None
    repair = workspace.samples.get(outcome.repair_id)
    before, after = parent.revision.answer, repair.revision.answer

    # Every code block byte-identical and in order, every sentence of the diagnosis and fix kept.
    assert FENCED.findall(after) == FENCED.findall(before) and FENCED.findall(before)
    legacy = parse_legacy(before)
    for unit in legacy.units:
        assert unit.text in after
    assert _flat(FENCED.sub("", legacy.fix_body)) in _flat(FENCED.sub("", after))
    # Diagnosis-first: header, diagnosis, numbered steps (the last quotes the user's symptom), fix.
    result = DiagnosisFirst().validate(repair.revision)
    assert result.passed and result.details["variant"] == "full", result.issues
    assert after.startswith("**Bug: 16-bit immediate with 8-bit accumulator**\n\n")
    assert "**What's happening:**\n1. " in after and "\n2. Result: This code crashes." in after
    assert after.index("**What's happening:**") < after.index("**Fix:**")

    # A new revision, linked to its parent, proposed; the parent is not superseded (it is a suggestion).
    row = store.con.execute(
        "SELECT parent_id, status, validation, source_type, source_name, metadata FROM samples WHERE id = ?",
        [repair.id],
    ).fetchone()
    assert row[:5] == (parent_id, "proposed", "passed", "template", REPAIR_SOURCE)
    metadata = json.loads(row[5])
    assert metadata["repair_of"] == parent_id and "whats_happening_steps" in metadata["repair"]["fixed"]
    assert repair.id in workspace.samples.get(parent_id).children
    assert workspace.samples.get(parent_id).status == "proposed"

    # The measured figure on the field data: legacy answers that get a passing rewrite.
    assert report.by_variant()["legacy"] == {"candidates": 114, "passed": 4}
    assert report.failures["no_diagnosis"] >= 86  # the benchmark drafts without an explanation

    counts = {t: _count(store, t) for t in ("revisions", "provenance", "status_events")}
    again = propose_repairs(workspace)
    assert (again.passed, again.new) == (report.passed, 0)
    assert {t: _count(store, t) for t in counts} == counts
    assert {o.parent_id: o.repair_id for o in again.outcomes} == {o.parent_id: o.repair_id for o in report.outcomes}


def test_an_answer_without_a_diagnosis_is_reported_not_rewritten(validated_workspace):
    workspace = validated_workspace
    store = workspace.store
    # A benchmark draft: "**Bug: Missing CLC before ADC**" then the fixed code, no word of why.
    parent_id = store.con.execute(
        "SELECT id FROM samples WHERE json_extract_string(metadata, '$.benchmark_id') = 'farore_carry_029'"
    ).fetchone()[0]
    report = propose_repairs(workspace, "metadata.benchmark_id = farore_carry_029")
    assert report.candidates == 1 and report.passed == 0 and report.rewritten == 0
    assert report.outcomes[0].reason == "no_diagnosis" and report.failures == {"no_diagnosis": 1}
    assert store.con.execute("SELECT count(*) FROM revisions WHERE parent_id = ?", [parent_id]).fetchone()[0] == 0


CARRY_QUESTION = "```asm\nLDA $10\nADC $12\nSTA $14\n```\n\nThe sum is sometimes one too high. What's wrong?"
CARRY_ANSWER = """**Bug: Missing CLC before ADC**

The addition starts from whatever the previous instruction left in the processor status register.
ADC adds that leftover bit into the result as well, so the total can come out one higher.

**Fix:**
```asm
CLC
LDA $10
ADC $12
STA $14
```

CLC clears the leftover bit first, so the result is exactly $10 plus $12."""


def test_a_missing_category_term_is_named_in_the_header_and_a_thin_answer_is_counted(workspace, tmp_path):
    thin = CARRY_ANSWER.replace(
        "\nADC adds that leftover bit into the result as well, so the total can come out one higher.", ""
    )
    rows = [
        chat_row(CARRY_QUESTION, CARRY_ANSWER, category="carry_flag"),
        chat_row(CARRY_QUESTION.replace("sometimes", "often"), thin, category="carry_flag"),
    ]
    import_file(workspace, write_jsonl(tmp_path / "carry.jsonl", rows), source_name="carry")
    validate_samples(workspace)
    report = propose_repairs(workspace)
    assert report.candidates == 2 and report.passed == 1
    assert report.failures == {"too_few_steps": 1}
    repaired = next(o for o in report.outcomes if o.repair_id)
    assert "category_named" in repaired.fixed
    answer = workspace.samples.get(repaired.repair_id).revision.answer
    assert answer.startswith("**Bug: Missing CLC before ADC (carry flag)**")
    assert Terminology().validate(workspace.samples.get(repaired.repair_id).revision).passed


@pytest.fixture
def field_home(validated_store_file, home):
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(validated_store_file, home / "triforge.duckdb")
    return home


def test_the_cli_prints_candidates_passes_and_reasons(field_home):
    runner = CliRunner()
    where = "source_name = farore_debugging_training.jsonl"
    first = runner.invoke(app, ["propose", "repairs", "--where", where, "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["candidates"] == 28 and data["rewritten"] >= data["passed"] > 0
    assert data["proposed"] == data["passed"] and data["existing"] == 0
    assert sum(data["failures"].values()) == data["candidates"] - data["passed"]
    assert {r["parent_id"] for r in data["repairs"]} and all(r["repair_id"] or r["reason"] for r in data["repairs"])

    text = runner.invoke(app, ["propose", "repairs", "--where", where])
    assert text.exit_code == 0, text.output
    assert "28 candidates" in text.stdout and f"0 proposed now, {data['passed']} proposed before" in text.stdout
    assert "too_few_steps" in text.stdout

    bad = runner.invoke(app, ["propose", "repairs", "--where", "kind = nonsense"])
    assert bad.exit_code == 2 and "unknown kind" in bad.output


# The model path: what restructuring cannot repair, a teacher rewrites, under the same code guard and validators.

THIN_CARRY = CARRY_ANSWER.replace(
    "\nADC adds that leftover bit into the result as well, so the total can come out one higher.", ""
)
CARRY_CODE = "```asm\nCLC\nLDA $10\nADC $12\nSTA $14\n```"
MODEL_REWRITE = f"""**Bug: Missing CLC before ADC (carry flag)**

The sum is one too high because ADC adds the carry flag as well, and nothing clears the carry that the \
previous instruction left behind before the addition starts.

**What's happening:**
1. ADC computes A plus the operand plus the carry flag, so the carry is part of every addition.
2. When the carry is set on entry, the value stored to $14 is $10 plus $12 plus one.

**Fix:**
{CARRY_CODE}

CLC clears the leftover bit first, so the result is exactly $10 plus $12."""
CHANGED_CODE = MODEL_REWRITE.replace("STA $14\n```", "STA $16\n```")


def _carry_rows() -> list[dict]:
    """A full legacy answer (restructuring repairs it) and two thin ones (too_few_steps: the model's turn)."""
    return [
        chat_row(CARRY_QUESTION, CARRY_ANSWER, category="carry_flag"),
        chat_row(CARRY_QUESTION.replace("sometimes", "often"), THIN_CARRY, category="carry_flag"),
        chat_row(CARRY_QUESTION.replace("sometimes", "every other frame"), THIN_CARRY, category="carry_flag"),
    ]


def _scripted_reply(prompt: str) -> str:
    """The teacher's rewrite: a good one for the "often" sample, one that edits the code for the other."""
    return MODEL_REWRITE if "often one too high" in prompt else CHANGED_CODE


def _carry_home(home, tmp_path):
    home.mkdir(parents=True, exist_ok=True)
    with Workspace(home) as ws:
        import_file(ws, write_jsonl(tmp_path / "carry.jsonl", _carry_rows()), source_name="carry")
        validate_samples(ws)
    return home


def _propose(*args: str) -> dict:
    result = CliRunner().invoke(app, ["propose", "repairs", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_teacher_rewrites_what_restructuring_cannot_and_only_a_rewrite_keeping_the_code_is_written(home, tmp_path):
    from tests.factories import PaidApiStandIn

    _carry_home(home, tmp_path)
    stand_in = PaidApiStandIn(["429"], reply=_scripted_reply)
    with serve_in_thread(stand_in.app) as base:
        args = ("--base-url", f"{base}/v1", "--model", "gpt-test", "--concurrency", "1")
        first = _propose(*args)
        calls = len(stand_in.calls)
        again = _propose(*args)
        text = CliRunner().invoke(app, ["propose", "repairs", *args])

    # Only the two samples restructuring could not repair went to the model; the 429 was retried.
    assert first["candidates"] == 3 and first["passed"] == 2 and first["proposed"] == 2
    paths = first["by_path"]
    assert (paths["deterministic"]["passed"], paths["deterministic"]["failures"]) == (1, {"too_few_steps": 2})
    model = paths["model"]
    assert (model["tried"], model["asked"], model["passed"], model["new"]) == (2, 2, 1, 1)
    assert model["failures"] == {"model_changed_code": 1} and first["failures"] == {"model_changed_code": 1}
    assert model["source_type"] == "teacher" and model["source_name"] == "repair@1/openai:gpt-test"
    assert calls == 3 and model["api_calls"] == 3 and (model["prompt_tokens"], model["completion_tokens"]) == (200, 100)
    prompts = [c["messages"][1]["content"] for c in stand_in.calls]
    assert all("verbatim" in p and "**What's happening:**" in p and THIN_CARRY in p for p in prompts)
    assert all("carry; CLC or SEC; ADC or SBC; flag" in p for p in prompts)
    assert all("response_format" not in c for c in stand_in.calls)  # free text: code is never JSON-escaped
    rejected = next(r for r in first["repairs"] if r["model_reason"])
    assert rejected["reason"] == "model_changed_code" and "code block 1 differs" in rejected["detail"]
    assert rejected["deterministic_reason"] == "too_few_steps" and rejected["repair_id"] is None

    with Workspace(home, read_only=True) as ws:
        store = ws.store
        by_model = next(r for r in first["repairs"] if r["path"] == "model" and r["repair_id"])
        row = store.con.execute(
            "SELECT parent_id, status, validation, source_type, source_name, metadata FROM samples WHERE id = ?",
            [by_model["repair_id"]],
        ).fetchone()
        assert row[:5] == (by_model["parent_id"], "proposed", "passed", "teacher", "repair@1/openai:gpt-test")
        metadata = json.loads(row[5])
        assert metadata["repair_of"] == by_model["parent_id"]
        assert metadata["repair"]["path"] == "model" and metadata["repair"]["model"] == "openai:gpt-test"
        repaired = ws.samples.get(by_model["repair_id"]).revision.answer
        original = ws.samples.get(by_model["parent_id"]).revision.answer
        assert repaired == MODEL_REWRITE and FENCED.findall(repaired) == FENCED.findall(original) == [CARRY_CODE]
        assert DiagnosisFirst().validate(ws.samples.get(by_model["repair_id"]).revision).passed
        # The rejected rewrite was never written; the reply is kept in the ledger with its reason.
        kids = store.con.execute("SELECT count(*) FROM revisions WHERE parent_id = ?", [rejected["parent_id"]])
        assert kids.fetchone()[0] == 0
        ledger = store.con.execute(
            "SELECT status, error, raw_response FROM teacher_requests WHERE starts_with(batch_id, 'repair-') "
            "ORDER BY status"
        ).fetchall()
        assert [(s, (e or "").split(":")[0], raw) for s, e, raw in ledger] == [
            ("failed", "model_changed_code", CHANGED_CODE),
            ("stored", "", MODEL_REWRITE),
        ]
        deterministic = next(r for r in first["repairs"] if r["path"] == "deterministic" and r["repair_id"])
        assert ws.samples.get(deterministic["repair_id"]).revision.metadata["repair"]["path"] == "deterministic"
        # The Argilla push's lookup finds the model's repair as a suggestion, like a restructuring.
        found = latest_repairs(ws, [by_model["parent_id"]])
        assert found[by_model["parent_id"]][:2] == (by_model["repair_id"], "repair@1/openai:gpt-test")

    # A rerun asks nothing: the repaired sample has its child, the rejected one's reply is re-checked.
    assert len(stand_in.calls) == calls
    assert (again["passed"], again["proposed"], again["failures"]) == (2, 0, {"model_changed_code": 1})
    assert (again["by_path"]["model"]["asked"], again["by_path"]["model"]["already_repaired"]) == (0, 1)
    assert again["by_path"]["model"]["replies_reused"] == 1
    assert text.exit_code == 0, text.output
    assert "by path" in text.stdout and "model_changed_code" in text.stdout and "0 asked this run" in text.stdout


def test_a_fatal_endpoint_error_stops_the_run_and_the_same_command_resumes(home, tmp_path):
    from tests.factories import PaidApiStandIn

    _carry_home(home, tmp_path)
    stand_in = PaidApiStandIn(["401"], reply=_scripted_reply)
    with serve_in_thread(stand_in.app) as base:
        args = ["propose", "repairs", "--base-url", f"{base}/v1", "--model", "m", "--concurrency", "1"]
        failed = CliRunner().invoke(app, args)
        assert failed.exit_code == 2 and "HTTP 401" in failed.output and "resume" in failed.output
        assert len(stand_in.calls) == 1
        resumed = _propose(*args[2:])
    assert resumed["by_path"]["model"]["asked"] == 2 and len(stand_in.calls) == 3
    assert resumed["by_path"]["model"]["passed"] == 1


def test_the_model_options_are_checked(home):
    runner = CliRunner()
    no_model = runner.invoke(app, ["propose", "repairs", "--base-url", "http://127.0.0.1:9/v1"])
    assert no_model.exit_code == 2 and "needs --model" in no_model.output
    both = runner.invoke(app, ["propose", "repairs", "--model", "m", "--base-model", "smollm2"])
    assert both.exit_code == 2 and "not both" in both.output


def test_a_tiny_in_process_model_gets_its_turn_and_its_failed_rewrites_are_not_written(home, tmp_path, tiny_model):
    """The bootstrap path end to end with the suite's tiny model: its replies are noise, so each is
    reported with a reason and nothing is written."""
    _carry_home(home, tmp_path)
    summary = _propose("--base-model", str(tiny_model), "--max-tokens", "16", "--temperature", "0")
    model = summary["by_path"]["model"]
    assert (model["tried"], model["asked"], model["passed"], model["source_type"]) == (2, 2, 0, "bootstrap")
    assert model["source_name"] == "repair@1/local:tiny-llama" and 0 < model["completion_tokens"] <= 2 * 16
    assert sum(model["failures"].values()) == 2 and all(r.startswith("model_") for r in model["failures"])
    with Store(home / "triforge.duckdb", read_only=True) as store:
        written = store.con.execute("SELECT count(*) FROM revisions WHERE source_type = 'bootstrap'").fetchone()[0]
    assert written == 0

"""``triforge propose repairs``: legacy answers restructured diagnosis-first, linked, validated, idempotent."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from curation.importers import import_file
from curation.repairs import REPAIR_SOURCE, propose_repairs
from curation.repairs.legacy import parse_legacy
from curation.samples import get_sample
from curation.store import Store
from curation.validators.diagnosis_first import DiagnosisFirst
from curation.validators.runner import validate_samples
from curation.validators.terminology import Terminology
from tests.conftest import chat_row, write_jsonl
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


def test_a_real_legacy_answer_is_restructured_kept_linked_and_rerun_is_a_no_op(validated_store):
    store = validated_store
    parent_id = _field_id(store, "farore_debugging_training.jsonl", "This code crashes. What's wrong?")
    parent = get_sample(store, parent_id)
    assert DiagnosisFirst().validate(parent.revision).details["variant"] == "legacy"

    report = propose_repairs(store)
    outcome = next(o for o in report.outcomes if o.parent_id == parent_id)
    assert outcome.repair_id is not None and outcome.new and outcome.reason is None
    repair = get_sample(store, outcome.repair_id)
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
    assert repair.id in get_sample(store, parent_id).children
    assert get_sample(store, parent_id).status == "proposed"

    # The measured figure on the field data: legacy answers that get a passing rewrite.
    assert report.by_variant()["legacy"] == {"candidates": 114, "passed": 4}
    assert report.failures["no_diagnosis"] >= 86  # the benchmark drafts without an explanation

    counts = {t: _count(store, t) for t in ("revisions", "provenance", "status_events")}
    again = propose_repairs(store)
    assert (again.passed, again.new) == (report.passed, 0)
    assert {t: _count(store, t) for t in counts} == counts
    assert {o.parent_id: o.repair_id for o in again.outcomes} == {o.parent_id: o.repair_id for o in report.outcomes}


def test_an_answer_without_a_diagnosis_is_reported_not_rewritten(validated_store):
    store = validated_store
    # A benchmark draft: "**Bug: Missing CLC before ADC**" then the fixed code, no word of why.
    parent_id = store.con.execute(
        "SELECT id FROM samples WHERE json_extract_string(metadata, '$.benchmark_id') = 'farore_carry_029'"
    ).fetchone()[0]
    report = propose_repairs(store, "metadata.benchmark_id = farore_carry_029")
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


def test_a_missing_category_term_is_named_in_the_header_and_a_thin_answer_is_counted(store, tmp_path):
    thin = CARRY_ANSWER.replace(
        "\nADC adds that leftover bit into the result as well, so the total can come out one higher.", ""
    )
    rows = [
        chat_row(CARRY_QUESTION, CARRY_ANSWER, category="carry_flag"),
        chat_row(CARRY_QUESTION.replace("sometimes", "often"), thin, category="carry_flag"),
    ]
    import_file(store, write_jsonl(tmp_path / "carry.jsonl", rows), source_name="carry")
    validate_samples(store)
    report = propose_repairs(store)
    assert report.candidates == 2 and report.passed == 1
    assert report.failures == {"too_few_steps": 1}
    repaired = next(o for o in report.outcomes if o.repair_id)
    assert "category_named" in repaired.fixed
    answer = get_sample(store, repaired.repair_id).revision.answer
    assert answer.startswith("**Bug: Missing CLC before ADC (carry flag)**")
    assert Terminology().validate(get_sample(store, repaired.repair_id).revision).passed


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

"""Running validators over the store: stored per version, reused, summarised, filterable."""

import json

import pytest
from typer.testing import CliRunner

from curation.importers import import_files
from curation.validators import REGISTRY, load_builtin
from curation.validators.profiles import profile_for
from curation.validators.runner import current_results, validate_samples
from triforge.cli import app


@pytest.fixture
def validated(validated_workspace):
    """(workspace, run): the run re-reads the stored results, so it reports without re-validating."""
    return validated_workspace, validate_samples(validated_workspace)


def test_first_run_validates_everything(workspace, field_files):
    import_files(workspace, field_files)
    run = validate_samples(workspace, "kind = debug_dialogue")
    assert run.samples == 128 and run.validators["diagnosis_first"].ran == 128
    assert workspace.samples.count("validation = pending") == 327 - 128


def test_every_sample_gets_its_profile_and_a_summary(validated):
    workspace, run = validated
    store = workspace.store
    assert run.samples == 327 and run.passed + run.failed == 327
    assert workspace.samples.count("validation = pending") == 0
    assert workspace.samples.count("validation = passed") == run.passed
    # Debugging dialogues run the five debug validators; explanations do not run diagnosis_first.
    assert run.validators["diagnosis_first"].passed + run.validators["diagnosis_first"].failed == 128
    assert run.validators["asm_assembles"].reused == 327
    by_kind = dict(
        store.con.execute(
            "SELECT kind, count(DISTINCT validator) FROM validation_results v JOIN revisions r ON r.id = v.revision_id "
            "GROUP BY kind"
        ).fetchall()
    )
    assert by_kind == {kind: len(profile_for(kind).validators) for kind in by_kind}  # each kind: its whole profile
    assert set(by_kind) == {"debug_dialogue", "asm_optimize", "asm_generate", "asm_explain"}


def test_field_findings_are_what_an_expert_would_flag(validated):
    workspace, run = validated
    store = workspace.store
    assert run.validators["diagnosis_first"].issue_codes["legacy_format"] == 114
    assert run.validators["anti_patterns"].issue_codes["asks_for_code"] >= 1  # Din's "please provide the routine"
    teacher_fail = store.con.execute(
        "SELECT count(*) FROM samples WHERE source_type = 'teacher' AND validation = 'failed'"
    ).fetchone()[0]
    assert teacher_fail >= 1


def test_unchanged_samples_are_not_run_again(validated):
    workspace, first = validated
    asm = REGISTRY["asm_assembles"]
    before_runs = asm.asar.runs
    again = validate_samples(workspace)
    assert all(s.ran == 0 for s in again.validators.values())
    assert again.validators["asm_assembles"].reused == 327
    assert asm.asar.runs == before_runs
    assert (again.passed, again.failed) == (first.passed, first.failed)


def test_a_new_validator_version_reruns_only_that_validator(validated, monkeypatch):
    workspace, _ = validated
    store = workspace.store
    monkeypatch.setattr(type(REGISTRY["length"]), "version", "2")
    run = validate_samples(workspace)
    assert run.validators["length"].ran == 327
    assert sum(s.ran for name, s in run.validators.items() if name != "length") == 0
    assert store.con.execute("SELECT count(*) FROM validation_results WHERE validator = 'length'").fetchone()[0] == 654


def test_assembler_results_are_cached_in_the_store(validated):
    workspace, _ = validated
    store = workspace.store
    cached = store.con.execute("SELECT count(*) FROM asm_cache").fetchone()[0]
    assert cached > 100
    forced = validate_samples(workspace, "kind = debug_dialogue", only=["asm_assembles"], force=True)
    assert forced.validators["asm_assembles"].ran == 128
    assert store.con.execute("SELECT count(*) FROM asm_cache").fetchone()[0] == cached


def test_snapshots_can_require_passing_validation(validated):
    workspace, run = validated
    snap = workspace.snapshots.create("clean", "validation = passed")
    assert snap.member_count == run.passed
    assert workspace.samples.count("validation = failed and validation_score < 0.9") > 0


def test_stored_results_only_return_current_versions(validated, monkeypatch):
    workspace, _ = validated
    store = workspace.store
    sample_id = store.con.execute("SELECT id FROM samples WHERE kind = 'debug_dialogue' LIMIT 1").fetchone()[0]
    assert {r.validator for r in current_results(workspace, sample_id)} == set(profile_for("debug_dialogue").validators)
    monkeypatch.setattr(type(REGISTRY["length"]), "version", "99")
    assert "length" not in {r.validator for r in current_results(workspace, sample_id)}


def test_unknown_validator_is_an_error(workspace):
    load_builtin()
    with pytest.raises(KeyError, match="unknown validator"):
        validate_samples(workspace, only=["spelling"])


def test_cli_validate_and_show(home, field_files):
    runner = CliRunner()
    assert runner.invoke(app, ["import", *map(str, field_files[:3])]).exit_code == 0
    result = runner.invoke(app, ["validate", "--json", "--where", "kind = debug_dialogue"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["samples"] == 128 and report["top_issues"][0]["count"] > 0
    human = runner.invoke(app, ["validate"])
    assert "pass rate" in human.output and "Top issue codes" in human.output
    listing = json.loads(runner.invoke(app, ["samples", "list", "--where", "validation = failed", "--json"]).stdout)
    sample_id = listing["samples"][0]["id"]
    shown = json.loads(runner.invoke(app, ["samples", "show", sample_id, "--json"]).stdout)
    assert {v["validator"] for v in shown["validations"]} >= {"asm_assembles", "anti_patterns"}
    text = runner.invoke(app, ["samples", "show", sample_id]).output
    assert "Validation" in text and "fail" in text
    bad = runner.invoke(app, ["validate", "--validator", "spelling"])
    assert bad.exit_code == 2 and "unknown validator" in bad.output

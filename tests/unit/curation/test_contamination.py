"""Eval contamination against the field's real eval files, with planted leaks."""

import json

import pytest
from typer.testing import CliRunner

from curation.contamination import check_contamination, latest_check, load_eval_cases
from curation.export import export_snapshot
from curation.importers import import_file, import_files
from curation.store import StoreError
from tests.factories import chat_row, write_jsonl
from triforge.cli import app

EVAL_FILES = (
    "triforce_eval_cases.json",
    "router_debugging_eval.jsonl",
    "router_generation_eval.jsonl",
    "router_optimization_eval.jsonl",
)


@pytest.fixture
def evals(field_dir):
    return [field_dir / name for name in EVAL_FILES]


def test_field_eval_files_load(evals):
    cases = [c for path in evals for c in load_eval_cases(path)]
    assert len(cases) == 35 + 36
    assert ("triforce_eval_cases.json", "NAYRU_TESTS/dma_transfer_basic") in {(c.file, c.case_id) for c in cases}
    assert ("router_debugging_eval.jsonl", "dbg_001") in {(c.file, c.case_id) for c in cases}


def test_the_field_training_files_do_not_leak_at_the_default_threshold(workspace, field_files, evals):
    import_files(workspace, field_files)
    workspace.snapshots.create("field")
    report = check_contamination(workspace, "field", evals)
    assert report.evals == 71 and report.leaks == []
    # The closest pairs share code fragments, not prompts: visible only at a far lower threshold.
    assert check_contamination(workspace, "field", evals, threshold=0.3, record=False).leaked_evals >= 1


def test_planted_leaks_are_found_exact_and_near(workspace, tmp_path, field_dir, evals):
    cases = load_eval_cases(field_dir / "router_debugging_eval.jsonl")
    verbatim = cases[0].prompt
    edited = cases[6].prompt.replace("My DMA doesn't transfer anything", "My DMA transfers nothing")
    wrapped = f"Context: ROM hack, bank $00.\n\n{cases[3].prompt}\n\nPlease explain."
    rows = [
        chat_row(verbatim, "**Bug: width**"),
        chat_row(edited, "**Bug: stack**"),
        chat_row(wrapped, "**Bug: dma**"),
        chat_row("Unrelated question about Mode 7", "It rotates."),
    ]
    import_file(workspace, write_jsonl(tmp_path / "leaky.jsonl", rows))
    workspace.snapshots.create("leaky")
    report = check_contamination(workspace, "leaky", evals)
    found = {leak.eval_id: leak.kind for leak in report.leaks}
    assert found == {cases[0].case_id: "exact", cases[6].case_id: "near", cases[3].case_id: "exact"}
    assert report.leaked_evals == 3


def test_the_dataset_card_quotes_the_latest_check(workspace, tmp_path, field_dir, evals):
    import_file(workspace, write_jsonl(tmp_path / "x.jsonl", [chat_row(load_eval_cases(evals[1])[0].prompt, "a")]))
    snap = workspace.snapshots.create("s")
    export_snapshot(workspace, "s", "chatml", tmp_path / "before")
    assert "eval contamination: not checked" in (tmp_path / "before" / "README.md").read_text()
    check_contamination(workspace, "s", evals)
    export_snapshot(workspace, "s", "chatml", tmp_path / "after")
    card = (tmp_path / "after" / "README.md").read_text()
    assert "eval contamination: 1 of 71 eval cases found in training prompts" in card
    manifest = json.loads((tmp_path / "after" / "manifest.json").read_text())
    assert manifest["eval_contamination"]["leaked_evals"] == 1
    assert latest_check(workspace, snap.id)["evals"] == 71


def test_bad_eval_files_are_reported(workspace, tmp_path):
    import_file(workspace, write_jsonl(tmp_path / "x.jsonl", [chat_row("q", "a")]))
    workspace.snapshots.create("s")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "ok"}\n{broken\n')
    with pytest.raises(StoreError, match=r"bad.jsonl:2: malformed JSON"):
        check_contamination(workspace, "s", [bad])
    noprompt = write_jsonl(tmp_path / "np.jsonl", [{"id": "x", "answer": "y"}])
    with pytest.raises(StoreError, match="has no prompt"):
        check_contamination(workspace, "s", [noprompt])
    with pytest.raises(StoreError, match="threshold"):
        check_contamination(workspace, "s", [noprompt], threshold=0)


def test_cli_contamination(home, field_files, evals):
    runner = CliRunner()
    runner.invoke(app, ["import", str(field_files[0])])
    runner.invoke(app, ["snapshot", "create", "din"])
    args = ["contamination", "din", *[x for e in evals for x in ("--evals", str(e))], "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["evals"] == 71
    missing = runner.invoke(app, ["contamination", "din", "--evals", "nope.json"])
    assert missing.exit_code == 2 and "no such eval file" in missing.output

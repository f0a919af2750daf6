"""Keyword scoring on hand-written responses: the original rule as stated, and the whole-word rule."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from curation.eval_suites import load_suite_file
from curation.store import StoreError
from schemas.training import EvalCase
from trainer.evaluation.scoring import score_substring, score_word
from triforge.cli import app


def case(keywords, anti=()):
    return EvalCase(suite="S", name="c", prompt="p", expected_keywords=list(keywords), anti_keywords=list(anti))


def test_the_stated_substring_rule(field_dir):
    stated = json.loads((field_dir / "triforce_eval_cases.json").read_text())["scoring"]
    assert "substring" in stated and "halves" in stated and "0.6" in stated
    c = case(["REP", "LDA", "STA", "MUL", "$4300"])
    # 3 of 5 found -> 0.6 -> passes (the threshold is inclusive).
    three = score_substring(c, "rep #$20 then lda and sta")
    assert (three.score, three.passed, three.missing) == (0.6, True, ["MUL", "$4300"])
    # Substrings count: "multiply" holds MUL, "$43000" holds $4300.
    assert score_substring(c, "multiply at $43000, repeat, lda, sta").score == 1.0
    # Any anti-keyword halves the score and fails the case.
    anti = score_substring(case(["STZ", "$10"], ["LDA #$00"]), "STZ $10 is better than LDA #$00")
    assert (anti.score, anti.passed, anti.anti_found) == (0.5, False, ["LDA #$00"])


def test_the_whole_word_rule_stops_the_false_credit():
    c = case(["REP", "LDA", "STA", "MUL", "$4300"])
    word = score_word(c, "multiply at $43000, repeat, lda, sta")
    assert word.found == ["LDA", "STA"] and word.score == 0.4 and not word.passed
    # Operands keep their sigils and match inside longer operands' boundaries only.
    assert score_word(case(["$10"]), "STZ $10").score == 1.0
    assert score_word(case(["$10"]), "LDA #$10").score == 1.0
    assert score_word(case(["$10"]), "STZ $1000").score == 0.0
    assert score_word(case(["Y"]), "every byte").score == 0.0
    assert score_word(case(["Y"]), "index with Y, not X").score == 1.0
    # Case-insensitive like the original, and multi-word keywords still work.
    assert score_word(case(["16-bit", "mode mismatch"]), "A 16-BIT accumulator: a Mode Mismatch.").score == 1.0
    # Anti-keywords use the same rule: "LDA #$00" is not in "LDA #$0010".
    assert score_word(case(["STZ"], ["LDA #$00"]), "STZ beats LDA #$0010").passed


def test_suite_files_are_checked(tmp_path, field_dir):
    cases = load_suite_file(field_dir / "triforce_eval_cases.json")
    assert len(cases) == 35 and len({c.suite for c in cases}) == 7
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"suites": {"A": [{"name": "x", "prompt": "p"}]}}))
    with pytest.raises(StoreError, match=r"A\[0\].*expected_keywords"):
        load_suite_file(bad)
    bad.write_text(json.dumps([{"name": "x", "prompt": "p", "expected_keywords": []}]))
    with pytest.raises(StoreError, match="expected_keywords is empty"):
        load_suite_file(bad)


def test_eval_cli_scores_responses_stores_runs_and_compares(home, field_dir, tmp_path):
    suite = field_dir / "triforce_eval_cases.json"
    weak = tmp_path / "weak.jsonl"
    strong = tmp_path / "strong.jsonl"
    weak.write_text(
        json.dumps({"name": "optimize_zero_store", "response": "Use LDA #$00 then STA $10, or multiply."})
        + "\n"
        + json.dumps({"name": "16bit_multiply", "response": "Repeat the multiply: lda, sta."})
        + "\n"
    )
    strong.write_text(
        json.dumps({"name": "optimize_zero_store", "response": "STZ $10 stores zero in one instruction."})
        + "\n"
        + json.dumps({"name": "16bit_multiply", "response": "REP #$20, LDA, STA; the SNES has no MUL."})
        + "\n"
    )
    runner = CliRunner()
    a = json.loads(
        runner.invoke(app, ["eval", "weak", "--suite", str(suite), "--responses", str(weak), "--json"]).stdout
    )
    b = json.loads(
        runner.invoke(app, ["eval", "strong", "--suite", str(suite), "--responses", str(strong), "--json"]).stdout
    )
    assert a["summary"]["ALL"]["cases"] == 2
    mult = next(c for c in a["cases"] if c["name"] == "16bit_multiply")
    # The original rule credits "rep"eat and "mul"tiply; the whole-word rule does not.
    assert mult["substring"]["score"] == 1.0 and mult["word"]["score"] == 0.5
    listed = json.loads(runner.invoke(app, ["eval", "list", "--json"]).stdout)
    assert [r["id"] for r in listed] == [a["id"], b["id"]]
    diff = json.loads(runner.invoke(app, ["eval", "compare", a["id"], b["id"], "--json"]).stdout)
    assert diff["suites"]["ALL"]["word"]["delta"] > 0 and diff["suites"]["ALL"]["word_passed"] == {"a": 0, "b": 2}
    assert {c["name"] for c in diff["cases"]} == {"optimize_zero_store", "16bit_multiply"}
    table = runner.invoke(app, ["eval", "compare", a["id"][:6], b["id"][:6]])
    assert table.exit_code == 0 and "DIN_TESTS/optimize_zero_store: word 0.25 -> 1.00" in table.output
    unknown = runner.invoke(app, ["eval", "bogus", "--responses", str(tmp_path / "none.jsonl")])
    assert unknown.exit_code != 0
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"name": "no_such_case", "response": "x"}\n')
    bad = runner.invoke(app, ["eval", "m", "--suite", str(suite), "--responses", str(wrong)])
    assert bad.exit_code == 2 and "wrong.jsonl:1" in bad.output


def test_stored_runs_are_found_by_id_prefix_or_by_the_model_evaluated(home, field_dir, tmp_path):
    from curation.errors import NotFound
    from curation.workspace import Workspace
    from trainer.evaluation.runner import compare_eval_runs, resolve_eval_run

    suite = field_dir / "triforce_eval_cases.json"
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"name": "optimize_zero_store", "response": "STZ $10"}) + "\n")
    runner = CliRunner()
    ids = [
        json.loads(
            runner.invoke(app, ["eval", m, "--suite", str(suite), "--responses", str(answers), "--json"]).stdout
        )["id"]
        for m in ("first-model", "second-model", "first-model")
    ]
    with Workspace(home, read_only=True) as workspace:
        assert [r.model for r in workspace.evals.list()] == ["first-model", "second-model", "first-model"]
        assert resolve_eval_run(workspace, ids[1][:6]) == ids[1]
        assert resolve_eval_run(workspace, "first-model") == ids[2]  # a model names its latest run
        with pytest.raises(NotFound, match="no eval run 'nobody'"):
            resolve_eval_run(workspace, "nobody")
        paired = workspace.evals.paired_cases(ids[0], ids[1])
        assert [(c.suite, c.name) for c in paired] == [("DIN_TESTS", "optimize_zero_store")]
        assert paired[0].a == paired[0].b  # the same answer scores the same under every metric
        diff = compare_eval_runs(workspace, "second-model", "first-model")
        assert (diff["a"], diff["b"]) == (ids[1], ids[2]) and diff["suites"]["ALL"]["word"]["delta"] == 0

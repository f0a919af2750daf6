"""The validator-based eval metrics, the suites they read, bootstrap intervals and contamination exclusion."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from curation.eval_suites import load_suite_file
from curation.store import StoreError
from schemas.training import EvalCase
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.factories import chat_row, write_jsonl
from trainer.evaluation.scorers import score_cases, summarise
from trainer.evaluation.stats import NO_CHANGE, bootstrap_mean, paired_bootstrap
from triforge.cli import app

LEGACY_ANSWER = """**Bug:** The routine leaves A in 16-bit mode.

**Fix:**
```asm
ReadValue:
    PHP
    REP #$20
    LDA $10
    PLP
    RTS
```"""


def debug_case(**kw) -> EvalCase:
    fields = {
        "suite": "S",
        "name": "mode",
        "prompt": GOOD_QUESTION,
        "expected_keywords": ["REP", "SEP", "16-bit", "PHP"],
        "kind": "debug_dialogue",
        "bug_category": "mode_mismatch",
        "category": "debugging",
    }
    return EvalCase.model_validate(fields | kw)


def score_one(case: EvalCase, response: str) -> dict:
    [result] = score_cases([case], {(case.suite, case.name): response})
    return result.metrics


def test_a_diagnosis_first_answer_scores_on_every_metric():
    m = score_one(debug_case(), GOOD_ANSWER)
    assert m["diagnosis_first"] == 1.0 and m["diagnosis_score"] == 1.0
    assert m["terminology"] == 1.0  # 16-bit, 8-bit, mode, REP/SEP, size: all five groups named
    assert m["no_anti_patterns"] == 1.0 and m["assembles"] == 1.0
    assert m["keyword_word"] == 1.0 and m["keyword_pass"] == 1.0


def test_a_legacy_answer_fails_the_structure_but_keeps_its_code():
    m = score_one(debug_case(), LEGACY_ANSWER)
    assert m["diagnosis_first"] == 0.0 and 0 < m["diagnosis_score"] <= 0.6
    assert m["assembles"] == 1.0
    assert m["terminology"] == 0.6  # names 16-bit, mode, REP: 3 of 5 groups (not 8-bit, size)


def test_refusals_hedging_and_broken_code_are_caught():
    refusal = score_one(debug_case(), "I cannot help with that, as an AI I am not able to debug ROM hacks.")
    assert refusal["no_anti_patterns"] == 0.0 and refusal["diagnosis_first"] == 0.0
    assert refusal["assembles"] == 0.0  # a debugging answer with no fix code has nothing that assembles
    broken = GOOD_ANSWER.replace("PLP\n    RTS", "PLP\n    RTS\n    LDA ($10,S),Q")
    assert score_one(debug_case(), broken)["assembles"] == 0.0


def test_metrics_that_do_not_apply_are_left_out_of_means():
    explain = EvalCase(suite="V", name="inidisp", prompt="What is $2100?", expected_keywords=["INIDISP"],
                       kind="asm_explain", category="hardware_knowledge")  # fmt: skip
    [result] = score_cases([explain], {("V", "inidisp"): "INIDISP at $2100 sets forced blank and brightness."})
    assert result.metrics["diagnosis_first"] is None and result.metrics["terminology"] is None
    assert result.metrics["assembles"] is None  # an explanation without code is not a failure to assemble
    summary = summarise([result])
    assert summary["diagnosis_first"] == {"mean": None, "n": 0} and summary["keyword_word"]["n"] == 1


def test_router_and_benchmark_files_become_cases(field_dir):
    router = load_suite_file(field_dir / "router_debugging_eval.jsonl")
    assert len(router) == 12 and {c.kind for c in router} == {"debug_dialogue"}
    assert router[0].expected_keywords == ["16-bit", "8-bit", "mode", "width", "X"]
    gen = load_suite_file(field_dir / "router_generation_eval.jsonl")
    assert {c.kind for c in gen} == {"asm_generate"}
    bench = load_suite_file(field_dir / "farore_benchmark.jsonl")
    assert len(bench) == 100 and len({c.category for c in bench}) == 28
    first = bench[0]
    assert first.kind == "debug_dialogue" and first.bug_category == "mode_mismatch"
    # The category's terms, then what the fix adds (REP and SEP are not in the buggy code).
    assert (
        first.expected_keywords[:5] == ["16-bit", "8-bit", "mode", "REP", "size"] and "SEP" in first.expected_keywords
    )
    assert first.prompt.startswith("```asm\nLDA #$1234\nSTA $10\n```")
    keyword = load_suite_file(field_dir / "triforce_eval_cases.json")
    farore = {c.name: c for c in keyword if c.suite == "FARORE_TESTS"}
    assert farore["detect_stack_corruption"].bug_category == "stack_imbalance"
    assert {c.kind for c in keyword if c.suite == "VERAN_TESTS"} == {"asm_explain"}


def test_bad_rows_in_jsonl_suites_name_their_line(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"id": "a", "query": "q", "expected_contains": ["x"]}, "{oops"])
    with pytest.raises(StoreError, match=r"bad.jsonl:2: malformed JSON"):
        load_suite_file(path)
    path = write_jsonl(tmp_path / "odd.jsonl", [{"id": "a", "text": "q"}])
    with pytest.raises(StoreError, match=r"odd.jsonl:1: expected a case row .*, a router row"):
        load_suite_file(path)


def test_bootstrap_intervals_on_known_data():
    # A constant difference has no spread: the interval is the point.
    same = paired_bootstrap([0.0] * 20, [0.5] * 20, seed=1)
    assert (same.mean, same.low, same.high, same.n) == (0.5, 0.5, 0.5, 20)
    assert same.verdict() == "better" and paired_bootstrap([1.0] * 5, [0.0] * 5).verdict() == "worse"
    # Half the cases gain 1, half lose 1: the mean difference is 0 and the interval holds it.
    split = paired_bootstrap([0.0, 1.0] * 20, [1.0, 0.0] * 20, seed=0)
    assert split.mean == 0.0 and split.low < 0 < split.high and split.verdict() == NO_CHANGE
    # 0/1 outcomes with p = 0.3 over 400 cases: the percentile interval matches the normal one (1.96 SE).
    values = [1.0] * 120 + [0.0] * 280
    interval = bootstrap_mean(values, seed=7)
    se = np.sqrt(0.3 * 0.7 / 400)
    assert interval.mean == pytest.approx(0.3)
    assert interval.low == pytest.approx(0.3 - 1.96 * se, abs=0.01) and interval.high == pytest.approx(
        0.3 + 1.96 * se, abs=0.01
    )
    # Fixed seed, same interval; the pairing matters (same marginals, different pairs, different width).
    assert bootstrap_mean(values, seed=7) == interval
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap([1.0], [1.0, 2.0])


def _responses(path, cases: dict[str, str]):
    return write_jsonl(path, [{"suite": "FARORE_TESTS", "name": n, "response": r} for n, r in cases.items()])


def test_contaminated_cases_are_flagged_and_left_out(home, tmp_path, field_dir):
    """A training snapshot holding one eval prompt: that case is flagged, and every mean and delta skips it."""
    runner = CliRunner()
    suite = field_dir / "triforce_eval_cases.json"
    farore = [c for c in load_suite_file(suite) if c.suite == "FARORE_TESTS"]
    leaked = farore[0]
    train = write_jsonl(
        tmp_path / "train.jsonl", [chat_row(leaked.prompt, GOOD_ANSWER), chat_row("Other?", GOOD_ANSWER)]
    )
    assert runner.invoke(app, ["import", str(train), "--kind", "debug_dialogue"]).exit_code == 0
    assert runner.invoke(app, ["snapshot", "create", "leaky", "--where", "kind = debug_dialogue"]).exit_code == 0
    # The leaked case is answered perfectly, the others badly: counted, it would lift the mean.
    answers = {c.name: ("I think maybe REP." if c is not leaked else GOOD_ANSWER) for c in farore}
    args = ["eval", "m", "--suite", str(suite), "--only", "FARORE_TESTS", "--json"]
    ran = runner.invoke(app, [*args, "--responses", str(_responses(tmp_path / "a.jsonl", answers)),
                              "--check-against", "leaky"])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.stdout)
    flags = {c["name"]: c["contaminated"] for c in report["cases"]}
    assert flags[leaked.name] is True and sum(flags.values()) == 1
    overall = report["summary"]["ALL"]
    assert overall["contaminated"] == 1 and overall["cases"] == len(farore) - 1
    assert overall["metrics"]["diagnosis_first"] == {"mean": 0.0, "n": len(farore) - 1}
    counted = runner.invoke(app, [*args, "--responses", str(tmp_path / "a.jsonl"), "--check-against", "leaky",
                                  "--include-contaminated"])  # fmt: skip
    assert json.loads(counted.stdout)["summary"]["ALL"]["metrics"]["diagnosis_first"]["mean"] > 0

    # Compared with a run that answers every case well, the leaked case is not among the counted pairs.
    good = _responses(tmp_path / "b.jsonl", dict.fromkeys(answers, GOOD_ANSWER))
    b = json.loads(runner.invoke(app, [*args, "--responses", str(good), "--check-against", "leaky"]).stdout)
    diff = json.loads(runner.invoke(app, ["eval", "compare", report["id"], b["id"], "--json"]).stdout)
    assert diff["contaminated"] == 1
    first = diff["suites"]["ALL"]["metrics"]["diagnosis_first"]
    assert first["n"] == len(farore) - 1 and first["delta"] == 1.0 and first["verdict"] == "better"
    table = runner.invoke(app, ["eval", "compare", report["id"], b["id"]])
    assert table.exit_code == 0 and "1 contaminated case(s) left out" in table.output


def test_compare_says_no_measurable_change_when_the_interval_holds_zero(home, tmp_path, field_dir):
    runner = CliRunner()
    suite = field_dir / "triforce_eval_cases.json"
    names = [c.name for c in load_suite_file(suite) if c.suite == "FARORE_TESTS"]
    # Two runs that swap which cases they answer well: equal means, a wide interval around 0.
    one = {n: (GOOD_ANSWER if i % 2 else LEGACY_ANSWER) for i, n in enumerate(names)}
    two = {n: (LEGACY_ANSWER if i % 2 else GOOD_ANSWER) for i, n in enumerate(names[:4])} | {names[4]: GOOD_ANSWER}
    ids = []
    for label, answers in (("a", one), ("b", two)):
        out = runner.invoke(app, ["eval", label, "--suite", str(suite), "--only", "FARORE_TESTS", "--json",
                                  "--responses", str(_responses(tmp_path / f"{label}.jsonl", answers))])  # fmt: skip
        ids.append(json.loads(out.stdout)["id"])
    diff = json.loads(runner.invoke(app, ["eval", "compare", *ids, "--json"]).stdout)
    m = diff["suites"]["ALL"]["metrics"]["diagnosis_first"]
    assert m["n"] == 5 and m["ci"][0] < 0 < m["ci"][1] and m["verdict"] == NO_CHANGE
    assert set(diff["categories"]) == {"debugging"}
    table = runner.invoke(app, ["eval", "compare", *ids], env={"COLUMNS": "200"})
    line = next(x for x in table.output.splitlines() if x.strip("│ ").startswith("diagnosis_first "))
    assert "no measurable change" in line

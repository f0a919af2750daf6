"""The eval metrics that run code and check the game: ``fix_passes`` runs a model's fix against the
case's spec; ``hook_valid``, ``flags_free`` and ``message_shown`` judge a proposed quest on the map."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from curation.asm.behaviour import BehaviourSpec, Scenario
from curation.eval_suites import load_suite_file
from curation.validators.base import ValidationContext
from generators.base import get_generator
from schemas.training import EvalCase
from trainer.evaluation.scorers import score_cases
from triforge.cli import app

BUGGY = """Caller:
JSR Routine
LDA #$12
STA $10
RTS
Routine:
REP #$20
LDA $7E2000
CLC
ADC #$0010
STA $7E2000
RTS"""
FIXED = BUGGY.replace("STA $7E2000\nRTS", "STA $7E2000\nSEP #$20\nRTS")
SPEC = BehaviourSpec(
    "Caller",
    "jsr",
    (
        Scenario(
            "an 8-bit caller",
            flags={"m8": True, "x8": True},
            memory={0x7E2000: bytes([0x34, 0x12])},
            expect_memory={0x7E0010: bytes([0x12]), 0x7E2000: bytes([0x44, 0x12])},
            properties=("returns", "stack_balanced", "widths_kept"),
        ),
    ),
)


def _answer(code: str) -> str:
    return f"**Bug: mode mismatch**\n\nThe routine returns 16-bit.\n\n**Fix:**\n```asm\n{code}\n```\n"


def test_fix_passes_runs_the_answers_fix_against_the_spec():
    case = EvalCase(suite="b", name="wide", prompt="Why?", expected_keywords=[], kind="debug_dialogue",
                    behaviour=SPEC.to_json())  # fmt: skip
    responses = {("b", "wide"): _answer(FIXED)}
    [good] = score_cases([case], responses)
    [bad] = score_cases([case], {("b", "wide"): _answer(BUGGY)})
    [none] = score_cases([case], {("b", "wide"): "It is a width problem."})
    assert (good.metrics["fix_passes"], bad.metrics["fix_passes"], none.metrics["fix_passes"]) == (1.0, 0.0, 0.0)
    assert any("widths" in f or "expected" in f for f in bad.findings["fix_passes"])
    plain = EvalCase(suite="b", name="plain", prompt="Why?", expected_keywords=["SEP"], kind="debug_dialogue")
    assert score_cases([plain], {("b", "plain"): _answer(FIXED)})[0].metrics["fix_passes"] is None


def test_quest_metrics_judge_a_proposal_on_the_map(home_with_map, rom_map, tmp_path):
    out = tmp_path / "quests.jsonl"
    made = CliRunner().invoke(app, ["eval", "make-suite", "quests", "--out", str(out), "--n", "2", "--seed", "4"])
    assert made.exit_code == 0, made.output
    cases = load_suite_file(out)
    assert [c.kind for c in cases] == ["quest_implementation"] * 2 and not cases[0].expected_keywords
    good = get_generator("quest_templates").generate(1, seed=9, rom_map=rom_map)[0].answer
    bad = (
        "```asm\norg $05E1A0\n    JSL Quest\n    NOP\norg $268000\nQuest:\n    LDA $7EF3E4\n    BIT #$08\n"
        "    BNE .done\n    LDA #$2E\n    STA $1CF0\n    LDA $7EF3E4\n    ORA #$08\n    STA $7EF3E4\n"
        ".done\n    RTL\n```"
    )
    context = ValidationContext(rom_map)
    first, second = cases
    scored = score_cases(cases, {(first.suite, first.name): good, (second.suite, second.name): bad}, context)
    assert [scored[0].metrics[m] for m in ("hook_valid", "flags_free", "message_shown")] == [1.0, 1.0, 1.0]
    assert [scored[1].metrics[m] for m in ("hook_valid", "flags_free", "message_shown")] == [0.0, 0.0, 0.0]
    assert any("byte 3 of" in f for f in scored[1].findings["game_checks"])
    without_map = score_cases(cases, {(first.suite, first.name): good})
    assert without_map[0].metrics["hook_valid"] is None


def test_a_suite_row_of_triforge_cases_reads_back(tmp_path):
    row = {"name": "b1", "prompt": "Why?", "kind": "debug_dialogue", "expected_keywords": [],
           "behaviour": SPEC.to_json(), "buggy_code": BUGGY}  # fmt: skip
    path = tmp_path / "suite.jsonl"
    path.write_text(json.dumps(row) + "\n")
    [case] = load_suite_file(path)
    assert BehaviourSpec.from_json(case.behaviour) == BehaviourSpec.from_json(SPEC.to_json())

"""``asm_flow``: widths, stack and returns followed along every path - each check fails its bug and
passes its fix, and the field data's answers are not flagged beyond the real bugs they hold."""

from __future__ import annotations

import pytest

from curation.validators.asm_flow import AsmFlow, State, analyse, entry_state
from schemas.sample import Kind
from tests.dialogues import revision

EIGHT = State(True, True, 0)

CASES = [
    (
        "a routine returns 16-bit to an 8-bit caller",
        "Caller:\nJSR Routine\nLDA #$12\nSTA $10\nRTS\nRoutine:\nREP #$20\nLDA $7E2000\nINC A\nSTA $7E2000\nRTS",
        "Caller:\nJSR Routine\nLDA #$12\nSTA $10\nRTS\nRoutine:\nPHP\nREP #$20\nLDA $7E2000\nINC A\nPLP\nRTS",
        "immediate_width_mismatch",
    ),
    (
        "a push with no pull on one branch",
        "Foo:\nPHA\nLDA $10\nBEQ .skip\nPLA\n.skip\nRTS",
        "Foo:\nPHA\nLDA $10\nBEQ .skip\nNOP\n.skip\nPLA\nRTS",
        "stack_imbalance",
    ),
    (
        "a pull with no push",
        "Foo:\nLDA $10\nPLA\nRTS",
        "Foo:\nPHA\nLDA $10\nPLA\nRTS",
        "stack_underflow",
    ),
    (
        "JSL into a routine that returns with RTS",
        "Main:\nJSL Sub\nRTL\nSub:\nLDA #$01\nSTA $10\nRTS",
        "Main:\nJSL Sub\nRTL\nSub:\nLDA #$01\nSTA $10\nRTL",
        "return_mismatch",
    ),
    (
        "REP #$30 then an 8-bit LDX immediate",
        "Init:\nREP #$30\nLDA #$0000\nLDX #$10\n-\nSTA $7E2000,X\nDEX\nBPL -\nSEP #$30\nRTS",
        "Init:\nREP #$30\nLDA #$0000\nLDX #$0010\n-\nSTA $7E2000,X\nDEX\nBPL -\nSEP #$30\nRTS",
        "immediate_width_mismatch",
    ),
]


@pytest.mark.parametrize("name, buggy, fixed, code", CASES, ids=[c[0] for c in CASES])
def test_each_check_fails_its_bug_and_passes_its_fix(name, buggy, fixed, code):
    findings, _ = analyse(buggy, EIGHT)
    assert [f.code for f in findings] == [code], findings
    assert analyse(fixed, EIGHT)[0] == []


def test_the_exit_widths_of_a_called_routine_carry_into_the_caller():
    _, exits = analyse("Caller:\nJSR Wide\nRTS\nWide:\nREP #$20\nRTS", EIGHT)
    assert exits["Wide"].m8 is False and exits["Caller"].m8 is False


def test_unknown_widths_are_not_guessed_against():
    # An excerpt with no stated widths: its first immediate sets them, nothing is reported.
    assert analyse("LDA #$1234\nSTA $10\nLDX #$0004\n-\nDEX\nBNE -\nRTS", State(None, None, 0))[0] == []
    assert entry_state("It is called with a 16-bit accumulator and 8-bit index registers.").key()[:2] == (False, True)
    assert entry_state("After the call the 16-bit accumulator reads garbage.").key()[:2] == (None, None)


def test_the_validator_locates_the_line_in_the_answer():
    answer = "**Bug: mode mismatch**\n\n```asm\nREP #$20\nLDA $10\nAND #$0F\nBEQ zero\nzero:\nRTS\n```\n"
    result = AsmFlow().validate(revision("Why does BEQ misbehave with an 8-bit A?", answer, kind=Kind.debug_dialogue))
    assert not result.passed
    issue = result.issues[0]
    assert issue.code == "immediate_width_mismatch" and issue.location.line == 3 and "`AND #$0F`" in issue.message


def test_the_field_answers_are_flagged_only_where_they_are_wrong(field_files, home):
    from curation.importers import import_files
    from curation.workspace import Workspace

    with Workspace(home) as ws:
        import_files(ws, field_files)
        revisions = ws.samples.revisions()
    validator = AsmFlow()
    judged = [validator.validate(r) for r in revisions]
    with_code = [r for r in judged if not any(i.code == "no_code" for i in r.issues)]
    flagged = [r for r in with_code if not r.passed]
    assert len(with_code) > 100
    assert len(flagged) / len(with_code) <= 0.02, [i.message for r in flagged for i in r.issues]

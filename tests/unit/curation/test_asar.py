"""The real Asar 1.91: safety, excerpt stubs, line mapping, batching and caching."""

import json

import pytest

from curation.validators.asar import Asar, unsafe_directive
from curation.validators.asm_assembles import AsmAssembles, MemoryAsmCache, snippets_of
from schemas import Kind
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION, revision


@pytest.fixture(scope="module")
def asar():
    return Asar()


@pytest.mark.parametrize(
    "snippet, directive",
    [
        ('incsrc "/etc/passwd"', "incsrc"),
        ("Data: incbin ../../secret.bin", "incbin"),
        ('table "font.tbl"', "table"),
        ('db readfile1("/etc/hostname", 0)', "readfile1"),
        ('!a = inc\n!b = src\n!a!b "/etc/passwd"', "!a"),
        ('macro m(x)\n<x> "/etc/passwd"\nendmacro', "<x>"),
        ('  @include "x.asm"', "@include"),
    ],
)
def test_file_reaching_snippets_are_refused_before_assembling(asar, snippet, directive):
    assert unsafe_directive(snippet) == directive
    before = asar.runs
    outcome = asar.check(snippet)
    assert outcome.refused == directive and not outcome.ok
    assert asar.runs == before


def test_table_as_a_label_is_fine(asar):
    assert unsafe_directive("LDA table,X") is None
    assert asar.check("LDA table,X\n").ok


def test_real_errors_are_reported_on_their_snippet_line(asar):
    outcome = asar.check("LDA #$12\nSTA $10\nJSR $018000\nRTS")
    assert not outcome.ok
    assert [(e.line, e.code) for e in outcome.errors] == [(3, "Eunknown_command")]
    far = asar.check("BRA far\n" + "NOP\n" * 200 + "far:\n")
    assert [e.code for e in far.errors] == ["Erelative_branch_out_of_bounds"]


def test_excerpts_get_stubs_for_what_they_do_not_define(asar):
    outcome = asar.check("LDA $10\nBNE .done\nJSL DoThing\nLDA !Flag\nBEQ -\nBRA +\n")
    assert outcome.ok, outcome.errors
    assert set(outcome.stubbed_labels) == {"__snippet_done", "DoThing", "-", "+"}
    assert outcome.stubbed_defines == ["Flag"]


def test_snippets_with_their_own_mapping_are_assembled_as_written(asar):
    assert asar.check("lorom\norg $008000\nLDA #$00\nSTA $2100\n").ok
    assert not asar.check("hirom\norg $C00000\nfoo bar\n").ok


def test_timeouts_are_reported(asar):
    slow = Asar(asar.executable, timeout=0.0001)
    assert slow.check("NOP\n").timed_out


def _field_snippets(field_dir):
    from curation.importers import detect_format
    from curation.importers.formats import ImportContext

    codes = []
    for name in ("farore_benchmark.jsonl", "farore_debugging_training.jsonl"):
        for i, line in enumerate((field_dir / name).read_text().splitlines(), 1):
            row = json.loads(line)
            rev = detect_format(row).to_revision(row, ImportContext(source_file=name), i)
            codes += [s.block.code for s in snippets_of(rev)]
    return sorted(set(codes))


def test_batching_gives_the_same_verdicts_as_one_run_per_snippet_in_fewer_runs(asar, field_dir):
    snippets = _field_snippets(field_dir)[:80]
    alone = []
    start = asar.runs
    for s in snippets:
        alone.append(asar.check(s))
    alone_runs = asar.runs - start
    start = asar.runs
    batched = asar.check_many(snippets)
    batched_runs = asar.runs - start
    assert [(o.ok, o.errors, sorted(o.stubbed_labels), o.refused) for o in batched] == [
        (o.ok, o.errors, sorted(o.stubbed_labels), o.refused) for o in alone
    ]
    assert any(not o.ok for o in batched) and any(o.ok for o in batched)
    assert batched_runs < alone_runs / 3


def test_validator_maps_errors_into_the_turn_and_grades_by_who_wrote_the_code():
    bad_fix = GOOD_ANSWER.replace("    PLP\n    RTS", "    PLP\n    JSR $018000\n    RTS")
    result = AsmAssembles().validate(revision(GOOD_QUESTION, bad_fix))
    assert not result.passed
    issue = next(i for i in result.issues if i.code == "asm_error")
    lines = bad_fix.split("\n")
    assert lines[issue.location.line - 1].strip() == "JSR $018000" == issue.location.excerpt
    assert issue.location.turn == 1 and issue.location.block == 0
    assert "JSL" in issue.message  # the hint

    buggy_question = "```asm\nBRA far\n" + "NOP\n" * 200 + "far:\n```\nWhy does this not assemble?"
    result = AsmAssembles().validate(revision(buggy_question, GOOD_ANSWER))
    assert result.passed
    assert [(i.code, i.severity) for i in result.issues if i.code == "asm_error"] == [("asm_error", "warning")]


def test_refused_code_fails_the_sample():
    answer = GOOD_ANSWER.replace("    PHP\n", '    incsrc "/etc/passwd"\n    PHP\n')
    result = AsmAssembles().validate(revision(GOOD_QUESTION, answer))
    assert not result.passed and "asm_refused" in [i.code for i in result.issues]
    assert "root:" not in json.dumps([i.message for i in result.issues])


def test_unfenced_code_is_found_and_stubs_are_info():
    rev = revision(
        "Optimize this 65816 code:\nLDA $00\nSTA $10\nJSR Helper",
        "REP #$20\nLDA $00\nSTA $10\nSEP #$20",
        kind=Kind.asm_optimize,
        category=None,
    )
    assert [s.from_user for s in snippets_of(rev)] == [True, False]
    result = AsmAssembles().validate(rev)
    assert result.passed and [(i.code, i.severity) for i in result.issues] == [("asm_stubbed", "info")]
    assert "Helper" in result.issues[0].message


def test_results_are_cached_by_snippet(asar):
    validator = AsmAssembles(asar=asar, cache=MemoryAsmCache())
    rev = revision(GOOD_QUESTION, GOOD_ANSWER)
    first = validator.validate(rev)
    before = asar.runs
    assert validator.validate(rev) == first
    assert asar.runs == before

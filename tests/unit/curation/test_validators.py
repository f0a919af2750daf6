"""Each validator on the good dialogue (passes) and on hand-written cases for each issue code."""

import pytest

from curation.validators import get_validator
from curation.validators.profiles import profile_for, profiles
from curation.validators.terms import CATEGORY_TERMS, TermGroup, terms_for
from schemas import Kind
from tests.dialogues import GOOD_ANSWER, QUEST_ANSWER, QUEST_QUESTION, good_dialogue, revision, with_answer


def codes(result):
    return [i.code for i in result.issues]


def check(name, rev):
    return get_validator(name).validate(rev)


@pytest.mark.parametrize("name", ["diagnosis_first", "asm_assembles", "terminology", "anti_patterns", "length"])
def test_the_good_dialogue_passes_every_debug_validator(name):
    result = check(name, good_dialogue())
    assert result.passed, result.issues
    assert [i for i in result.issues if i.severity != "info"] == []
    assert result.score >= 0.95


# --- diagnosis_first -------------------------------------------------------------------------------


def test_full_format_is_recognised():
    result = check("diagnosis_first", good_dialogue())
    assert result.details == {"variant": "full", "bug_type": "16-bit/8-bit mode mismatch"}


def test_legacy_form_is_a_distinct_lower_scoring_result():
    legacy = GOOD_ANSWER.split("**What's happening:**")[0] + "**Fix:**" + GOOD_ANSWER.split("**Fix:**")[1]
    result = check("diagnosis_first", with_answer(legacy))
    assert not result.passed
    assert codes(result) == ["legacy_format"]
    assert result.details["variant"] == "legacy"
    assert result.score <= 0.6 < check("diagnosis_first", good_dialogue()).score


def test_farore_training_file_is_legacy_not_a_crash(field_dir):
    import json

    from curation.importers import detect_format
    from curation.importers.formats import ImportContext

    rows = [json.loads(x) for x in (field_dir / "farore_debugging_training.jsonl").read_text().splitlines()]
    revs = [detect_format(r).to_revision(r, ImportContext(source_file="f"), i) for i, r in enumerate(rows, 1)]
    results = [check("diagnosis_first", r) for r in revs]
    variants = {res.details["variant"] for res in results}
    assert variants <= {"legacy", "none"} and "legacy" in variants
    assert all(not r.passed for r in results)


@pytest.mark.parametrize(
    "mutate, code, line",
    [
        (
            lambda a: a.replace("**Bug: 16-bit/8-bit mode mismatch**", "The bug is a mode mismatch."),
            "missing_bug_header",
            1,
        ),
        (lambda a: "Let me look at this.\n\n" + a, "bug_header_not_first", 3),
        (lambda a: a.replace("**Bug: 16-bit/8-bit mode mismatch**", "**Bug:**"), "bug_type_missing", 1),
        (lambda a: a.split("\n\n", 2)[0] + "\n\n" + a.split("\n\n", 2)[2], "missing_diagnosis", 2),
        (lambda a: a.replace("1. ", "- ").replace("2. ", "- ").replace("3. ", "- "), "steps_not_numbered", 6),
        (
            lambda a: (
                a.split("**Fix:**")[0] + "**Fix:**\nUse PHP and PLP around the routine body so the mode survives."
            ),
            "fix_without_code",
            11,
        ),
        (lambda a: a.split("**Fix:**")[0], "missing_fix", None),
    ],
)
def test_each_problem_is_reported_where_it_is(mutate, code, line):
    result = check("diagnosis_first", with_answer(mutate(GOOD_ANSWER)))
    issue = next(i for i in result.issues if i.code == code)
    assert not result.passed
    assert issue.location.turn == 1
    assert issue.location.line == line


def test_out_of_order_sections_name_both_lines():
    happening = GOOD_ANSWER.split("**What's happening:**")[1].split("**Fix:**")[0]
    head = GOOD_ANSWER.split("**What's happening:**")[0]
    fix = GOOD_ANSWER.split("**Fix:**")[1]
    swapped = head + "**Fix:**" + fix + "\n\n**What's happening:**" + happening
    result = check("diagnosis_first", with_answer(swapped))
    issue = next(i for i in result.issues if i.code == "section_out_of_order")
    assert "comes before" in issue.message and "**What's happening:**" in issue.message


def test_fix_without_explanation_is_a_warning():
    answer = GOOD_ANSWER.rsplit("```", 1)[0] + "```"
    result = check("diagnosis_first", with_answer(answer))
    assert result.passed and codes(result) == ["fix_unexplained"]
    assert result.issues[0].severity == "warning"


def test_diagnosis_not_tied_to_the_symptom_is_a_warning():
    rev = revision("My sprite flickers on real hardware but not in the emulator. Ideas?", GOOD_ANSWER)
    result = check("diagnosis_first", rev)
    assert "diagnosis_not_tied" in codes(result)
    assert result.passed and result.score < check("diagnosis_first", good_dialogue()).score


# --- terminology -----------------------------------------------------------------------------------


def test_terminology_reports_missing_term_groups():
    answer = "**Bug: early return**\n\nThe routine pushes the accumulator and returns before pulling it."
    result = check("terminology", with_answer(answer, category="stack_imbalance"))
    assert not result.passed and codes(result)[0] == "insufficient_terminology"
    assert "PHA/PLA" in result.issues[0].message


def test_single_letter_registers_are_not_found_inside_words():
    # The field's scorer counted "Y" inside "every"; here it must be a register token.
    y_group = TermGroup(("Y",))
    assert not y_group.found_in("every byte, any key, yes")
    assert y_group.found_in("LDA ($10),Y")
    pointer = next(g for g in terms_for("pointer_bugs") if g.alternatives == ("Y", "index"))
    assert not pointer.found_in("Everything is yours")


def test_addresses_match_whole_tokens():
    group = TermGroup(("$4305",))
    assert group.found_in("STA $4305") and not group.found_in("STA $43050")


def test_every_benchmark_category_has_terms(field_dir):
    import json

    cats = {json.loads(x)["category"] for x in (field_dir / "farore_benchmark.jsonl").read_text().splitlines()}
    assert cats <= set(CATEGORY_TERMS)
    for named in ("mode_mismatch", "stack_imbalance", "register_clobber", "dma_setup", "missing_sep"):
        assert terms_for(named)


def test_samples_without_a_category_are_not_failed():
    result = check("terminology", good_dialogue(category=None))
    assert result.passed and codes(result) == ["no_category"]


# --- anti_patterns ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, code",
    [
        ("I can't help with ROM hacking requests, sorry.", "refusal"),
        (GOOD_ANSWER.replace("ReadValue switches", "I think ReadValue switches"), "hedging"),
        (GOOD_ANSWER + "\n\nMaybe the stack is also wrong, I'm not sure.", "hedging"),
        ("Happy to help! Please provide the full routine and I'll take a look.", "asks_for_code"),
        ("```asm\nPHP\nREP #$20\nLDA $10\nPLP\nRTS\n```", "code_only"),
    ],
)
def test_anti_patterns_are_caught(answer, code):
    result = check("anti_patterns", with_answer(answer))
    assert code in codes(result) and not result.passed


def test_code_only_is_only_a_warning_for_optimisation_answers():
    result = check("anti_patterns", with_answer("REP #$20\nLDA $00\nSTA $10\nSEP #$20", kind=Kind.asm_optimize))
    assert result.passed and codes(result) == ["code_only"] and result.issues[0].severity == "warning"


def test_hedging_location_points_at_the_line():
    result = check("anti_patterns", with_answer(GOOD_ANSWER + "\n\nMaybe also check the stack."))
    issue = next(i for i in result.issues if i.code == "hedging")
    assert issue.location.line == GOOD_ANSWER.count("\n") + 3 and issue.location.excerpt == "Maybe"


# --- length ----------------------------------------------------------------------------------------


def test_length_profiles():
    short = check("length", with_answer("**Bug: mode**\n\nUse SEP."))
    assert not short.passed and "too_short" in codes(short)
    long_answer = GOOD_ANSWER + "\n\n" + "The processor status register matters here. " * 150
    long = check("length", with_answer(long_answer))
    assert long.passed and codes(long) == ["too_long"] and long.issues[0].severity == "warning"
    huge = check("length", with_answer("x " * 25_000))
    assert not huge.passed
    asm = check("length", with_answer("STZ $10", kind=Kind.asm_optimize))
    assert asm.passed and asm.details["profile"] == "asm"


# --- quest_structure -------------------------------------------------------------------------------


def test_a_complete_quest_pair_passes():
    rev = revision(QUEST_QUESTION, QUEST_ANSWER, kind=Kind.quest_implementation, category="fetch")
    for name in profile_for(Kind.quest_implementation).required:
        result = check(name, rev)
        assert result.passed, (name, result.issues)


@pytest.mark.parametrize(
    "question, answer, code",
    [
        (QUEST_QUESTION.replace("Goal:", "Aim -"), QUEST_ANSWER, "quest_missing_goal"),
        (QUEST_QUESTION.replace("Beats:", "Then:"), QUEST_ANSWER, "quest_missing_beats"),
        (QUEST_QUESTION.replace("Reward:", "You get"), QUEST_ANSWER, "quest_missing_reward"),
        (QUEST_QUESTION.replace("Constraints:", "Note:"), QUEST_ANSWER, "quest_missing_constraints"),
        (QUEST_QUESTION, QUEST_ANSWER.split("```")[0] + QUEST_ANSWER.split("```")[2], "impl_missing_code"),
        (
            QUEST_QUESTION,
            QUEST_ANSWER.replace("Hook point: $05:E3B2", "It").replace("org $05E3B2", ";"),
            "impl_missing_hook",
        ),
        (
            QUEST_QUESTION,
            QUEST_ANSWER.replace("SRAM $7EF3C9", "a bit")
            .replace("$7EF3C9", "$10")
            .replace("SRAM flag", "state")
            .replace("flag keeps", "check keeps"),
            "impl_missing_flag",
        ),
        (
            QUEST_QUESTION,
            QUEST_ANSWER.replace("Message id $0123 is the thank-you text; $0124 asks for the flute.", ""),
            "impl_missing_text_id",
        ),
    ],
)
def test_quest_issues(question, answer, code):
    result = check("quest_structure", revision(question, answer, kind=Kind.quest_implementation))
    assert code in codes(result) and not result.passed


def test_every_kind_has_a_profile_of_registered_validators():
    from curation.validators import REGISTRY, load_builtin

    load_builtin()
    assert set(profiles()) == set(Kind)
    for profile in profiles().values():
        assert set(profile.validators) <= set(REGISTRY)


def test_an_answer_with_no_sections_names_each_missing_one():
    result = check("diagnosis_first", with_answer(GOOD_ANSWER.split("**What's happening:**")[0]))
    assert {"missing_whats_happening", "missing_fix"} <= set(codes(result))
    assert result.details["variant"] == "none"


def test_terminology_skips_categories_it_has_no_terms_for():
    result = check("terminology", good_dialogue(category="ppu_control"))
    assert result.passed and codes(result) == ["no_terms_for_category"]


def test_long_code_blocks_are_a_length_warning():
    answer = GOOD_ANSWER.replace("    RTS\n```", "    RTS\n" + "    NOP\n" * 130 + "```", 1)
    result = check("length", with_answer(answer))
    assert result.passed and "code_block_too_long" in codes(result)


def test_asm_validator_reports_timeouts_and_samples_without_code():
    from curation.validators.asar import Asar
    from curation.validators.asm_assembles import AsmAssembles

    slow = AsmAssembles(asar=Asar(timeout=0.0001))
    result = slow.validate(good_dialogue())
    assert not result.passed and "asm_timeout" in codes(result)
    plain = AsmAssembles().validate(revision("What does INIDISP do?", "It sets brightness.", kind=Kind.asm_explain))
    assert plain.passed and codes(plain) == ["no_code"]

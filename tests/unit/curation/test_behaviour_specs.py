"""Every bug-injection template's spec, run in the 65816 interpreter: for several draws of each template
the buggy code fails its spec and the fix passes it - the dialogue's mechanism is what the CPU does."""

from __future__ import annotations

import random

import pytest

from curation.asm.behaviour import run_spec
from curation.validators.asar import Asar
from generators.bug_injection import TEMPLATES
from generators.draw import Draw
from generators.vocabulary import routine_names

DRAWS = 5


@pytest.fixture(scope="module")
def asar() -> Asar:
    return Asar()


@pytest.mark.parametrize("template", TEMPLATES, ids=[f"{t.__module__.split('.')[-1]}.{t.__name__}" for t in TEMPLATES])
def test_the_bug_fails_its_spec_and_the_fix_passes(template, asar):
    names = routine_names()
    for draw_no in range(DRAWS):
        case = template(Draw(random.Random(f"spec:{template.__name__}:{draw_no}"), names))
        assert case.spec is not None, f"{template.__name__} has no behaviour spec"
        bug = run_spec(case.buggy, case.spec, asar)
        fix = run_spec(case.fixed, case.spec, asar)
        assert bug.assembled and fix.assembled, (bug.error, fix.error, case.buggy)
        assert not bug.passed, f"draw {draw_no}: the buggy code passes its spec\n{case.buggy}"
        assert fix.passed, f"draw {draw_no}: the fix fails: {[str(f) for f in fix.failures]}\n{case.fixed}"


def test_asm_behaviour_judges_a_proposal_by_running_it():
    """The validator on a proposal's metadata: a true pair passes; swapped, the bug 'passes' and the 'fix' fails."""
    from curation.validators.asm_behaviour import AsmBehaviour
    from generators.bug_injection.widths import mode_returns_wide
    from schemas.sample import Kind
    from tests.dialogues import revision

    case = mode_returns_wide(Draw(random.Random("validator"), routine_names()))
    assert case.spec is not None

    def proposal(buggy: str, fixed: str):
        sample = revision("Why does it crash?", "**Bug: mode mismatch**", kind=Kind.debug_dialogue)
        meta = {"behaviour": case.spec.to_json(), "buggy_code": buggy, "fixed_code": fixed}
        return sample.model_copy(update={"metadata": meta})

    validator = AsmBehaviour()
    good = validator.validate(proposal(case.buggy, case.fixed))
    assert good.passed and good.details["buggy_failures"] and not good.details["fix_failures"]
    swapped = validator.validate(proposal(case.fixed, case.buggy))
    assert not swapped.passed
    assert {i.code for i in swapped.issues} == {"bug_does_not_misbehave", "fix_fails_spec"}
    plain = validator.validate(revision("Why?", "**Bug: x**", kind=Kind.debug_dialogue))
    assert plain.passed and [i.code for i in plain.issues] == ["no_spec"]


def test_the_fixes_an_expert_rejected_are_caught_by_the_corrected_specs(asar):
    """The reported wrong fix - spawn code that zeroes the sprite's health for 'it dies instantly' - fails the
    spawn template's spec, with the reason in bytes."""
    from generators.bug_injection.game import spawn_without_clearing

    names = routine_names()
    case = next(
        c
        for c in (spawn_without_clearing(Draw(random.Random(seed), names)) for seed in range(60))
        if "STA $0E50,X" in c.fixed
    )
    zeroed = "\n".join(
        "    STZ $0E50,X" if "STA $0E50,X" in line else line for line in case.fixed.split("\n")
    )  # what the template used to write
    outcome = run_spec(zeroed, case.spec, asar)
    assert not outcome.passed
    assert any("$7E0E5" in str(f) and "expected" in str(f) for f in outcome.failures), outcome.failures
    assert run_spec(case.fixed, case.spec, asar).passed

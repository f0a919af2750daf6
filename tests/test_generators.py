"""The bug-injection proposer: seeded, varied, assembling, and passing the validators."""

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from curation.validators import REGISTRY, load_builtin
from curation.validators.asar import Asar
from curation.validators.profiles import profile_for
from generators.base import get_generator
from generators.bug_injection import CASES
from triforge.cli import app


@pytest.fixture(scope="module")
def proposals():
    return get_generator("bug_injection").generate(500, seed=7)


def test_same_seed_same_proposals_other_seed_others(proposals):
    generator = get_generator("bug_injection")
    assert [r.id for r in generator.generate(25, seed=7)] == [r.id for r in proposals[:25]]
    assert not {r.id for r in generator.generate(25, seed=8)} & {r.id for r in proposals}


def test_500_proposals_are_distinct_and_cover_every_category(proposals):
    assert len({r.id for r in proposals}) == 500
    assert len({(r.prompt, r.answer) for r in proposals}) == 500
    counts = Counter(r.category for r in proposals)
    assert len(counts) == len(CASES) >= 10 and min(counts.values()) >= 500 // len(CASES)


def test_buggy_and_fixed_code_assemble_and_differ(proposals):
    asar = Asar()
    buggy = asar.check_many([r.metadata["buggy_code"] for r in proposals])
    fixed = asar.check_many([r.metadata["fixed_code"] for r in proposals])
    assert all(o.ok for o in buggy) and all(o.ok for o in fixed)
    assert all(r.metadata["buggy_code"] != r.metadata["fixed_code"] for r in proposals)
    assert all(r.metadata["buggy_code"] in r.prompt and r.metadata["fixed_code"] in r.answer for r in proposals)


def test_at_least_95_percent_pass_the_validators(proposals):
    load_builtin()
    required = profile_for("debug_dialogue").required
    results = {name: REGISTRY[name].validate_many(proposals) for name in required}
    passing = sum(all(results[n][i].passed for n in required) for i in range(len(proposals)))
    assert passing / len(proposals) >= 0.95
    assert all(r.details["variant"] == "full" for r in results["diagnosis_first"])


def test_cli_generate_stores_validates_and_dedups(home):
    runner = CliRunner()
    result = runner.invoke(app, ["generate", "bug_injection", "--n", "40", "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["made"], summary["new"], summary["valid"], summary["exact_duplicates"]) == (40, 40, 40, 0)
    again = json.loads(runner.invoke(app, ["generate", "bug_injection", "--n", "40", "--seed", "3", "--json"]).stdout)
    assert again["new"] == 0
    shown = json.loads(runner.invoke(app, ["samples", "list", "--where", "source_type = template", "--json"]).stdout)
    assert shown["total"] == 40 and shown["samples"][0]["source_name"] == "bug_injection@1"
    bad = runner.invoke(app, ["generate", "poetry"])
    assert bad.exit_code == 2 and "unknown generator" in bad.output


def test_quest_templates_cover_the_tractable_types_and_pass_the_quest_profile():
    quests = get_generator("quest_templates").generate(120, seed=2)
    assert len({r.id for r in quests}) == 120
    assert set(Counter(r.category for r in quests)) == {
        "fetch",
        "talk",
        "trigger",
        "fairy_fountain",
        "hidden_room",
        "switch_puzzle",
    }
    load_builtin()
    for name in profile_for("quest_implementation").required:
        results = REGISTRY[name].validate_many(quests)
        assert all(r.passed for r in results), (name, [r.issues for r in results if not r.passed][:1])
    assert [r.id for r in get_generator("quest_templates").generate(6, seed=2)] == [r.id for r in quests[:6]]

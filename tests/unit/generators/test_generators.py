"""The template proposers: seeded, varied (few near-duplicates), assembling, and passing the validators."""

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from curation.errors import Invalid
from curation.validators import REGISTRY, load_builtin
from curation.validators.asar import Asar
from curation.validators.base import ContextValidator, ValidationContext
from curation.validators.profiles import profile_for
from curation.validators.terms import CATEGORY_TERMS
from generators.base import get_generator
from generators.bug_injection import CATEGORIES, TEMPLATES
from generators.vocabulary import mined_routine_names, routine_names
from pipelines.generate import run_generator
from triforge.cli import app


@pytest.fixture(scope="module")
def proposals():
    return get_generator("bug_injection").generate(500, seed=7)


def test_same_seed_same_proposals_other_seed_others(proposals):
    generator = get_generator("bug_injection")
    assert [r.id for r in generator.generate(25, seed=7)] == [r.id for r in proposals[:25]]
    assert not {r.id for r in generator.generate(25, seed=8)} & {r.id for r in proposals}


def test_500_proposals_are_distinct_and_cover_every_category_of_the_taxonomy(proposals):
    assert len({r.id for r in proposals}) == 500
    assert len({(r.prompt, r.answer) for r in proposals}) == 500
    assert set(CATEGORIES) == set(CATEGORY_TERMS)  # every bug category the validators know has templates
    counts = Counter(r.category for r in proposals)
    assert set(counts) == set(CATEGORY_TERMS) and min(counts.values()) >= 500 // len(CATEGORIES)
    assert {r.metadata["template"] for r in proposals} == {t.__name__ for t in TEMPLATES}


def test_a_small_batch_covers_every_category():
    batch = get_generator("bug_injection").generate(len(CATEGORIES), seed=11)
    assert {r.category for r in batch} == set(CATEGORY_TERMS)


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
    # The answer names the terms its category needs: all of them, not just the 60% pass mark.
    assert sum(r.score == 1.0 for r in results["terminology"]) / len(proposals) >= 0.95


def test_proposals_vary_registers_addressing_ram_names_and_wording(proposals):
    codes = " ".join(r.metadata["buggy_code"] for r in proposals)
    for token in ("X", "Y"):  # both index registers, as loop counters and indexes
        assert f"LD{token} #" in codes.upper() and f",{token}" in codes.upper()
    assert all(mode in codes for mode in ("),Y", "],Y", ",X)", "$7E", "$7F", "$70"))  # indirect, long, SRAM
    assert len({r.metadata["buggy_code"].split(":")[0] for r in proposals}) >= 400  # routine names
    assert len({r.answer.split("\n")[0] for r in proposals}) >= 100  # Bug titles
    assert len({r.prompt.split("\n")[0] for r in proposals}) >= 200  # how the user opens


def test_a_template_batch_is_mostly_free_of_near_duplicates(store, workspace):
    summary = run_generator(workspace, "bug_injection", 120, seed=5)
    assert summary.made == summary.valid == 120
    assert summary.duplicates <= 120 * 0.2, summary.as_dict()
    paired = {x for pair in store.con.execute("SELECT a, b FROM dedup_pairs").fetchall() for x in pair}
    assert sum(i not in paired for i in summary.ids) >= 120 * 0.8


def test_without_field_data_the_curated_names_suffice_and_stay_deterministic(tmp_path, monkeypatch):
    assert routine_names(), "the field data should be present in the test environment"
    with_field = get_generator("bug_injection").generate(60, seed=4)
    mined = set(routine_names())
    assert any(name in r.prompt for r in with_field for name in mined)  # field names reach proposals

    monkeypatch.setenv("TRIFORGE_FIELD_DATA", str(tmp_path / "nowhere"))
    assert routine_names() == () and mined_routine_names(None) == ()
    alone = get_generator("bug_injection").generate(60, seed=4)
    assert [r.id for r in alone] == [r.id for r in get_generator("bug_injection").generate(60, seed=4)]
    assert {r.category for r in alone} == {r.category for r in with_field}
    field_only = {n for n in mined if not n.startswith(("Update", "Palette_"))}  # templates use those too
    assert not any(name in r.prompt for r in alone for name in field_only)


def test_cli_generate_stores_validates_and_dedups(home):
    runner = CliRunner()
    result = runner.invoke(app, ["generate", "bug_injection", "--n", "40", "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["made"], summary["new"], summary["valid"], summary["exact_duplicates"]) == (40, 40, 40, 0)
    again = json.loads(runner.invoke(app, ["generate", "bug_injection", "--n", "40", "--seed", "3", "--json"]).stdout)
    assert again["new"] == 0
    shown = json.loads(runner.invoke(app, ["samples", "list", "--where", "source_type = template", "--json"]).stdout)
    assert shown["total"] == 40 and shown["samples"][0]["source_name"] == "bug_injection@3"
    bad = runner.invoke(app, ["generate", "poetry"])
    assert bad.exit_code == 2 and "unknown generator" in bad.output


def test_quest_templates_cover_the_tractable_types_and_pass_the_quest_profile(rom_map):
    quests = get_generator("quest_templates").generate(120, seed=2, rom_map=rom_map)
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
    context = ValidationContext(rom_map)
    for name in profile_for("quest_implementation").required:
        validator = REGISTRY[name]
        if isinstance(validator, ContextValidator):
            results = validator.validate_many_in(quests, context)
        else:
            results = validator.validate_many(quests)
        assert all(r.passed for r in results), (name, [r.issues for r in results if not r.passed][:1])
    again = get_generator("quest_templates").generate(6, seed=2, rom_map=rom_map)
    assert [r.id for r in again] == [r.id for r in quests[:6]]
    other = get_generator("quest_templates").generate(12, seed=3, rom_map=rom_map)
    assert not {r.id for r in other} & {r.id for r in quests}


def test_quest_templates_without_a_rom_map_say_which_command_builds_one():
    with pytest.raises(Invalid, match="triforge rom-map build --disassembly"):
        get_generator("quest_templates").generate(3, seed=1)


def test_quest_batch_is_mostly_free_of_near_duplicates(home_with_map, store, workspace):
    summary = run_generator(workspace, "quest_templates", 120, seed=6)
    assert summary.made == summary.valid == 120
    paired = {x for pair in store.con.execute("SELECT a, b FROM dedup_pairs").fetchall() for x in pair}
    assert sum(i not in paired for i in summary.ids) >= 120 * 0.8

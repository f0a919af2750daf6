"""Held-out eval suites made from the proposers, for the metrics that run code and check the game.

* ``behaviour``: bug-injection cases (the question: buggy code and symptom) carrying their executable
  spec, so ``triforge eval`` runs the model's fix (``fix_passes``). Drawn with their own seed namespace,
  so no template proposal that training data may hold is also a case (the contamination check on
  ``eval run`` confirms it for any snapshot).
* ``quests``: quest designs whose answers the map-aware checks judge (``hook_valid``, ``flags_free``,
  ``message_shown``): whether a model proposes pairs an expert would keep.

Both are written as JSON lines of case rows that ``load_suite_file`` reads.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from curation.errors import Invalid
from curation.rommap import RomMap
from curation.validators.terms import terms_for
from generators.bug_injection import BY_CATEGORY, CATEGORIES
from generators.bug_injection.render import render
from generators.draw import Draw
from generators.quest_templates.designs import QUEST_TYPES, make_design
from generators.vocabulary import routine_names
from schemas.sample import Kind

SUITES = ("behaviour", "quests")
_SEED_SPACE = "triforge-eval-suite"  # never a proposer's own seed string: held out by construction


def behaviour_cases(n: int, seed: int) -> list[dict]:
    """``n`` debugging cases, categories round-robin, each with the spec its template wrote."""
    rng = random.Random(f"{_SEED_SPACE}:behaviour:{seed}")
    names = routine_names()
    cases = []
    for index in range(n * 20):
        if len(cases) >= n:
            break
        category = CATEGORIES[index % len(CATEGORIES)]
        draw = Draw(rng, names)
        case = draw.pick(BY_CATEGORY[category])(draw)
        if case.spec is None:
            continue
        question, _ = render(case, draw)
        groups = terms_for(case.category) or ()
        cases.append(
            {
                "name": f"behaviour-{len(cases) + 1:03d}-{case.category}",
                "prompt": question,
                "expected_keywords": [g.alternatives[0] for g in groups] or [case.category.replace("_", " ")],
                "kind": Kind.debug_dialogue.value,
                "category": "debugging",
                "bug_category": case.category if groups else None,
                "behaviour": case.spec.to_json(),
                "buggy_code": case.buggy,
            }
        )
    return cases


def quest_cases(n: int, seed: int, rom_map: RomMap | None) -> list[dict]:
    """``n`` quest designs (types round-robin); the implementation is the model's to write."""
    if rom_map is None:
        raise Invalid("the quest suite is judged on your ROM map: run `triforge rom-map build --disassembly DIR`")
    rng = random.Random(f"{_SEED_SPACE}:quests:{seed}")
    names = routine_names()
    types = list(QUEST_TYPES)
    cases = []
    for index in range(n):
        quest_type = types[index % len(types)]
        draw = Draw(rng, names)
        design = make_design(draw, quest_type, draw.pick(["a Heart Container", "100 Rupees", "a Bottle"]))
        cases.append(
            {
                "name": f"quest-{index + 1:03d}-{quest_type}",
                "prompt": design.text,
                "expected_keywords": [],
                "kind": Kind.quest_implementation.value,
                "category": quest_type,
            }
        )
    return cases


def write_suite(kind: str, out: Path, n: int, seed: int, rom_map: RomMap | None = None) -> int:
    if kind not in SUITES:
        raise Invalid(f"unknown suite {kind!r}; known: {', '.join(SUITES)}")
    cases = behaviour_cases(n, seed) if kind == "behaviour" else quest_cases(n, seed, rom_map)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(case) + "\n" for case in cases), encoding="utf-8")
    return len(cases)


__all__ = ["SUITES", "behaviour_cases", "quest_cases", "write_suite"]

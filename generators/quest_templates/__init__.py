"""``quest_templates``: quest design -> ROM implementation pairs for the quest types the seeds call
tractable first (fetch, talk, trigger; then fairy fountain, hidden room, switch puzzle).

The user turn is the design - goal, beats, reward, constraints (text boxes of 3 lines of 19
characters, free SRAM, ...) - and the answer is the implementation: the hook point, the SRAM flag,
the message ids, and asm that assembles with Asar (an ``org`` at the hook that patches in a JSL, the
routine in free space).

Version 3 builds on the user's ROM map (``triforge rom-map build``): hooks at vanilla call sites,
the quest's state in a save byte nothing else uses, text and the reward through vanilla's routines
(see ``implementation.py``). Without a map it says which command builds one.

Why the variety (version 2): version 1 filled one fixed text per type with a few names, so all 500
proposals were near-duplicates (MinHash) of each other. Now the people, places, beats, constraints,
headings, rewards, the quest type's own check, the code's idioms and the wording and order of the
implementation notes are drawn from one seeded RNG: the same seed gives the same proposals.
"""

from __future__ import annotations

import random

from curation.rommap import RomMap
from generators.base import Generator, register
from generators.draw import Draw
from generators.quest_templates.designs import QUEST_TYPES, make_design
from generators.quest_templates.implementation import (
    behaviour_spec,
    build_code,
    draw_plan,
    implementation_text,
    routine_code,
)
from generators.quest_templates.sites import find_sites, require_map
from generators.vocabulary import routine_names
from schemas.sample import Kind, SampleRevision


class QuestTemplates(Generator):
    name = "quest_templates"
    version = "3"
    description = (
        "fetch, talk, trigger, fairy fountain, hidden room and switch puzzle quests hooked at vanilla call sites "
        "from your ROM map"
    )

    def generate(self, n: int, seed: int, *, rom_map: RomMap | None = None) -> list[SampleRevision]:
        rom_map = require_map(rom_map)
        sites = find_sites(rom_map)
        rng = random.Random(f"{self.name}:{self.version}:{seed}:{rom_map.fingerprint}")
        types = list(QUEST_TYPES)
        names = routine_names()

        def propose(index: int) -> SampleRevision:
            quest_type = types[index % len(types)]
            draw = Draw(rng, names)
            plan = draw_plan(draw, quest_type, sites, rom_map)
            design = make_design(draw, quest_type, plan.reward[0])
            code, style = build_code(draw, quest_type, plan)
            answer = implementation_text(draw, design, plan, code, style)
            return self.proposal(
                Kind.quest_implementation,
                quest_type,
                design.text,
                answer,
                seed=seed,
                index=index,
                quest_type=quest_type,
                hooks=[f"${plan.giver.address:06X}", f"${plan.step.address:06X}"],
                state_byte=f"${plan.state:06X}",
                routine_code=routine_code(code),
                behaviour=behaviour_spec(plan, style).to_json(),
            )

        return self.distinct(n, propose)


register(QuestTemplates())

__all__ = ["QUEST_TYPES", "QuestTemplates"]

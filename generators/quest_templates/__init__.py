"""``quest_templates``: quest design -> ROM implementation pairs for the quest types the seeds call
tractable first (fetch, talk, trigger; then fairy fountain, hidden room, switch puzzle).

The user turn is the design - goal, beats, reward, constraints (text boxes of 3 lines of 19
characters, free SRAM, ...) - and the answer is the implementation: the hook point, the SRAM flag,
the message ids, and asm that assembles with Asar (an ``org`` at the hook that patches in a JSL, the
routine in free space).

Why the variety (version 2): version 1 filled one fixed text per type with a few names, so all 500
proposals were near-duplicates (MinHash) of each other. Now the people, places, beats, constraints,
headings, rewards, the quest type's own check, the code's idioms and the wording and order of the
implementation notes are drawn from one seeded RNG: the same seed gives the same proposals.
"""

from __future__ import annotations

import random

from generators.base import Generator, register
from generators.draw import Draw
from generators.quest_templates.designs import QUEST_TYPES, make_design
from generators.quest_templates.implementation import build_code, draw_plan, implementation_text
from generators.vocabulary import routine_names
from schemas.sample import Kind, SampleRevision


class QuestTemplates(Generator):
    name = "quest_templates"
    version = "2"
    description = "fetch, talk, trigger, fairy fountain, hidden room and switch puzzle quests with asm"

    def generate(self, n: int, seed: int) -> list[SampleRevision]:
        rng = random.Random(f"{self.name}:{self.version}:{seed}")
        types = list(QUEST_TYPES)
        names = routine_names()

        def propose(index: int) -> SampleRevision:
            quest_type = types[index % len(types)]
            draw = Draw(rng, names)
            plan = draw_plan(draw, quest_type)
            design = make_design(draw, quest_type, plan.reward.name)
            code, why_check = build_code(draw, quest_type, plan)
            answer = implementation_text(draw, design, plan, code, why_check)
            return self.proposal(
                Kind.quest_implementation,
                quest_type,
                design.text,
                answer,
                seed=seed,
                index=index,
                quest_type=quest_type,
            )

        return self.distinct(n, propose)


register(QuestTemplates())

__all__ = ["QUEST_TYPES", "QuestTemplates"]

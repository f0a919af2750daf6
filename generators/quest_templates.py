"""``quest_templates``: quest design -> ROM implementation pairs for the quest types the seeds call
tractable first (fetch, talk, trigger; then fairy fountain, hidden room, switch puzzle).

The user turn is the design - goal, numbered beats, reward, constraints (text boxes of 3 lines of
19 characters, free RAM) - and the answer is the implementation: the hook point, the SRAM flag, the
message ids, and asm that assembles with Asar (an ``org`` at the hook that patches in a JSL, the
routine in free space). Names, places, items, ids and addresses are drawn from a seeded RNG.

The hook addresses come from a short fixed list and are *illustrative*: they assemble, but whether
each is the right place to hook in a given ROM is exactly what the expert reviewing the proposal
decides. $1CF0/$1CF1 is where ALTTP queues the next message id; the SRAM flag bytes are taken from
$7EF3D0-$7EF3EF, which a hack must check against its own SRAM map.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from generators.base import Generator, register
from schemas.sample import Kind, SampleRevision

NPCS = ["the old man", "a Hylian guard", "the fortune teller", "a lost child", "the blacksmith's wife", "a monk"]
PLACES = [
    "Kakariko Village",
    "the Lost Woods",
    "Lake Hylia",
    "Death Mountain",
    "the Desert of Mystery",
    "the Eastern Palace",
]
# (item, SRAM address of its inventory byte, value that grants it)
ITEMS = [
    ("Bottle", 0x7EF35C, 0x02),
    ("Bombs", 0x7EF343, 0x0A),
    ("Arrows", 0x7EF377, 0x1E),
    ("Magic Powder", 0x7EF344, 0x02),
    ("Piece of Heart", 0x7EF36B, 0x01),
    ("Rupees", 0x7EF360, 0x64),
]
HOOKS = [
    (0x05E1A0, "the NPC's talk routine"),
    (0x068AB3, "the chest-opening handler"),
    (0x1EE0C4, "the room's load routine"),
    (0x028364, "the overworld transition"),
    (0x06C0F2, "the fairy fountain handler"),
    (0x01C5A4, "the switch tile handler"),
]
QUEST_TYPES = {
    "fetch": (
        "Bring {item_from} to {npc}",
        ["Talk to {npc} in {place}.", "Find {item_from} in a cave nearby.", "Return to {npc} with it."],
    ),
    "talk": (
        "Hear {npc}'s story",
        ["Meet {npc} in {place}.", "Listen to the three parts of the story.", "Come back at night for the ending."],
    ),
    "trigger": (
        "Light the torches in {place}",
        ["Enter the room in {place}.", "Light all four torches.", "The door opens and the chest appears."],
    ),
    "fairy_fountain": (
        "Find the hidden fairy in {place}",
        ["Bomb the cracked wall in {place}.", "Throw {item_from} into the fountain.", "The fairy rewards Link."],
    ),
    "hidden_room": (
        "Uncover the hidden room in {place}",
        [
            "Notice the odd floor tile in {place}.",
            "Lift the pot to reveal the stairs.",
            "Open the chest in the secret room.",
        ],
    ),
    "switch_puzzle": (
        "Solve the switch puzzle in {place}",
        [
            "Step on the first switch in {place}.",
            "Push the block onto the second switch.",
            "Hit the crystal to lower the pegs.",
        ],
    ),
}


@dataclass(frozen=True)
class Quest:
    kind: str
    title: str
    design: str
    implementation: str


def make_quest(rng: random.Random, quest_type: str) -> Quest:
    npc, place = rng.choice(NPCS), rng.choice(PLACES)
    item_from = rng.choice(["a lost ring", "a silver key", "a bundle of herbs", "a letter", "a fishing rod"])
    item, item_addr, item_value = rng.choice(ITEMS)
    hook, hook_desc = rng.choice(HOOKS)
    flag_addr = 0x7EF3C0 + rng.randrange(0x10, 0x30)
    bit = 1 << rng.randrange(8)
    text_ask, text_done = rng.randrange(0x100, 0x180), rng.randrange(0x180, 0x200)
    free_bank = rng.choice([0x20, 0x21, 0x22, 0x23])
    routine = f"Quest_{quest_type.title().replace('_', '')}{rng.randint(1, 999)}"
    title_tpl, beats_tpl = QUEST_TYPES[quest_type]
    fill = {"npc": npc, "place": place, "item_from": item_from}
    beats = "\n".join(f"{i}. {b.format(**fill)}" for i, b in enumerate(beats_tpl, 1))
    design = (
        f"Quest design ({quest_type.replace('_', ' ')}): {title_tpl.format(**fill)}.\n\n"
        f"Goal: {title_tpl.format(**fill)} and earn a reward from {npc}.\n"
        f"Beats:\n{beats}\n"
        f"Reward: {item}.\n"
        f"Constraints: each text box fits 3 lines of 19 characters; the quest must only pay out once; "
        f"use free SRAM for its state.\n\nHow would you implement this in the ALTTP ROM with Asar?"
    )
    code = (
        f"org ${hook:06X}\n    JSL {routine}\n    NOP\n\n"
        f"org ${free_bank:02X}8000\n{routine}:\n    PHP\n    SEP #$20\n"
        f"    LDA ${flag_addr:06X}\n    AND #${bit:02X}\n    BNE .done\n"
        f"    LDA #${text_done & 0xFF:02X}\n    STA $1CF0\n    LDA #${text_done >> 8:02X}\n    STA $1CF1\n"
        f"    LDA #${item_value:02X}\n    STA ${item_addr:06X}\n"
        f"    LDA ${flag_addr:06X}\n    ORA #${bit:02X}\n    STA ${flag_addr:06X}\n"
        f".done\n    PLP\n    RTL"
    )
    implementation = (
        f"The quest hangs off {hook_desc}, keeps its state in one SRAM bit and grants the {item} once.\n\n"
        f"Hook point: ${hook >> 16:02X}:{hook & 0xFFFF:04X} ({hook_desc}) is patched with a JSL to {routine} "
        f"in free space at ${free_bank:02X}:8000.\n"
        f"Flag: SRAM ${flag_addr:06X} bit {bit.bit_length() - 1} (mask ${bit:02X}) records that the reward "
        f"was given, so it survives saving and never pays out twice.\n"
        f"Message id ${text_ask:04X} is the request from {npc}; message id ${text_done:04X} is the thank-you "
        f"line, both written for 3 lines of 19 characters.\n\n"
        f"```asm\n{code}\n```\n\n"
        f"PHP/PLP keep the caller's register sizes intact, the flag check makes the routine safe to run on "
        f"every visit, and writing $1CF0/$1CF1 queues the message id the dialogue engine shows next."
    )
    return Quest(quest_type, title_tpl.format(**fill), design, implementation)


class QuestTemplates(Generator):
    name = "quest_templates"
    version = "1"
    description = "fetch, talk, trigger, fairy fountain, hidden room and switch puzzle quests with asm"

    def generate(self, n: int, seed: int) -> list[SampleRevision]:
        rng = random.Random(f"{self.name}:{self.version}:{seed}")
        types = list(QUEST_TYPES)

        def propose(index: int) -> SampleRevision:
            quest = make_quest(rng, types[index % len(types)])
            return self.proposal(
                Kind.quest_implementation,
                quest.kind,
                quest.design,
                quest.implementation,
                seed=seed,
                index=index,
                quest_type=quest.kind,
            )

        return self.distinct(n, propose)


register(QuestTemplates())

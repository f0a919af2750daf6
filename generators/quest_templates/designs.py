"""Quest designs: who asks, where, what the player does, what they get, and the limits the hack imposes.

Each quest type has a pool of title and beat wordings; a design draws 3-5 beats (the first and the
last beat of a type keep their place, the middle ones are drawn and ordered by the seed), 2-4
constraints and the headings' spelling, so two fetch quests share a shape, not a text.
"""

from __future__ import annotations

from dataclasses import dataclass

from generators.draw import Draw
from schemas.taxonomy import QUEST_TYPES as TAXONOMY_QUEST_TYPES

NPC_NAMES = (
    "Sahasrahla",
    "the old man",
    "a Hylian guard",
    "the fortune teller",
    "a lost child",
    "the blacksmith's wife",
    "a monk",
    "Kiki the monkey",
    "the flute boy",
    "a Zora elder",
    "the bottle merchant",
    "a wandering bard",
    "the library keeper",
    "a retired knight",
    "the witch's apprentice",
    "a Goron traveller",
    "the lighthouse keeper",
    "a sick innkeeper",
)
PLACES = (
    "Kakariko Village",
    "the Lost Woods",
    "Lake Hylia",
    "Death Mountain",
    "the Desert of Mystery",
    "the Eastern Palace",
    "Hyrule Castle's garden",
    "the Sanctuary",
    "the Witch's Hut",
    "Zora's Waterfall",
    "the Great Swamp",
    "the Village of Outcasts",
    "the Ice Palace entrance",
    "the Potion Shop",
    "the graveyard",
    "Link's house",
    "the Hylia island",
    "the Misery Mire",
)
ERRAND_ITEMS = (
    "a lost ring",
    "a silver key",
    "a bundle of herbs",
    "a sealed letter",
    "a fishing rod",
    "a music box",
    "an old map",
    "a jar of honey",
    "a broken sword hilt",
    "a Zora scale",
    "a cucco feather",
    "a lantern wick",
)


@dataclass(frozen=True)
class QuestType:
    titles: tuple[str, ...]
    goals: tuple[str, ...]  # imperative: "bring ... to ..."
    opening: tuple[str, ...]  # the first beat
    middle: tuple[str, ...]  # drawn and ordered by the seed
    closing: tuple[str, ...]  # the last beat


QUEST_TYPES: dict[str, QuestType] = {
    "fetch": QuestType(
        ("Bring {errand} to {npc}", "{npc} needs {errand}", "Recover {errand} for {npc}"),
        ("bring {errand} back to {npc}", "recover {errand} for {npc}", "find {errand} and return it to {npc}"),
        ("Talk to {npc} in {place}.", "Meet {npc}, who waits in {place}.", "{npc} in {place} asks for help."),
        (
            "Find {errand} in a cave nearby.",
            "Follow the footprints to a hollow tree.",
            "Defeat the moblin that carries {errand}.",
            "Buy a lamp oil refill to light the cave.",
            "Cross the river with the flippers.",
            "Ask the villagers where {errand} was last seen.",
        ),
        ("Return to {npc} with {errand}.", "Give {errand} back to {npc}.", "Bring it home to {npc}."),
    ),
    "talk": QuestType(
        ("Hear {npc}'s story", "The tale of {npc}", "Listen to {npc}"),
        ("hear all of {npc}'s story", "listen to {npc} until the tale ends", "keep visiting {npc} to hear the story"),
        ("Meet {npc} in {place}.", "Find {npc} sitting alone in {place}.", "Greet {npc} at {place}."),
        (
            "Listen to the first part of the story.",
            "Come back after visiting the next dungeon.",
            "Answer {npc}'s question with 'yes'.",
            "Bring a bottle of red potion to keep {npc} talking.",
            "Hear the second part at night.",
            "Find the old photograph {npc} mentions.",
        ),
        ("Come back for the ending.", "Hear the last part of the story.", "{npc} finishes the tale."),
    ),
    "trigger": QuestType(
        ("Light the torches in {place}", "Wake the statue in {place}", "Ring the bell in {place}"),
        ("open the sealed room in {place}", "set off the mechanism in {place}", "break the seal in {place}"),
        ("Enter the room in {place}.", "Find the sealed chamber in {place}.", "Reach the hidden altar of {place}."),
        (
            "Light all four torches before they burn out.",
            "Push the statue onto the pressure plate.",
            "Strike the crystal with the sword.",
            "Pull the lever behind the curtain.",
            "Defeat the guards that appear.",
            "Read the inscription with the Book of Mudora.",
        ),
        ("The door opens and the chest appears.", "A chest drops from the ceiling.", "The seal breaks."),
    ),
    "fairy_fountain": QuestType(
        ("Find the hidden fairy in {place}", "The fountain of {place}", "Wake the fairy of {place}"),
        (
            "find the hidden fountain in {place}",
            "wake the fairy hidden in {place}",
            "reach the secret fountain of {place}",
        ),
        ("Bomb the cracked wall in {place}.", "Dash into the odd tree in {place}.", "Lift the heavy rock in {place}."),
        (
            "Throw {errand} into the fountain.",
            "Pay 100 rupees at the fountain.",
            "Play the flute by the water.",
            "Wait for the moon to rise.",
            "Swim to the island in the pond.",
        ),
        ("The fairy rewards Link.", "The fairy appears and blesses Link.", "The fairy gives Link a gift."),
    ),
    "hidden_room": QuestType(
        ("Uncover the hidden room in {place}", "The secret of {place}", "The room behind the wall of {place}"),
        ("find the secret room in {place}", "uncover what is hidden in {place}", "get into the hidden room of {place}"),
        (
            "Notice the odd floor tile in {place}.",
            "Spot the crack in the wall of {place}.",
            "Hear the hollow sound under {place}.",
        ),
        (
            "Lift the pot to reveal the stairs.",
            "Use the hookshot on the hidden target.",
            "Bomb the weak floor.",
            "Pull the loose brick.",
            "Follow the draft with the lamp lit.",
        ),
        ("Open the chest in the secret room.", "Claim the treasure inside.", "Find the chest in the dark room."),
    ),
    "switch_puzzle": QuestType(
        ("Solve the switch puzzle in {place}", "The switches of {place}", "The crystal switches in {place}"),
        (
            "solve the switch puzzle in {place}",
            "press every switch in {place}",
            "open the gate of {place} with its switches",
        ),
        (
            "Step on the first switch in {place}.",
            "Enter the switch room of {place}.",
            "Find the blue switch in {place}.",
        ),
        (
            "Push the block onto the second switch.",
            "Hit the crystal to lower the pegs.",
            "Hold the switch down with a pot.",
            "Throw the boomerang at the far switch.",
            "Step on the switches in order: left, right, middle.",
        ),
        ("The gate opens.", "The bridge extends.", "The last switch opens the way to the chest."),
    ),
}

CONSTRAINTS = (
    "each text box fits 3 lines of 19 characters",
    "the quest must only pay out once",
    "use free SRAM for its state",
    "no new graphics",
    "it must not break the vanilla quest flags",
    "keep it to one room's worth of code",
    "it has to work on a save file that already finished the game",
    "the reward must survive a save and reload",
    "messages go through the vanilla text engine",
)
HEADINGS = {
    "goal": ("Goal:", "**Goal:**", "Objective:", "Goal -"),
    "beats": ("Beats:", "**Beats:**", "Steps:", "Walkthrough:", "Sequence:"),
    "reward": ("Reward:", "**Reward:**", "Rewards:"),
    "constraints": ("Constraints:", "**Constraints:**", "Limits:"),
}
ASKS = (
    "How would you implement this in the ALTTP ROM with Asar?",
    "How do I build this into my ALTTP hack (Asar)?",
    "Can you write the ROM side of this with Asar?",
    "What's the cleanest way to implement this in the ROM?",
    "Write the implementation for my hack, please.",
    "How would this look as an Asar patch?",
)


if tuple(QUEST_TYPES) != TAXONOMY_QUEST_TYPES:  # the taxonomy lists exactly the types designed here
    raise RuntimeError(f"quest types {tuple(QUEST_TYPES)} differ from schemas.taxonomy's {TAXONOMY_QUEST_TYPES}")


@dataclass(frozen=True)
class Design:
    quest_type: str
    title: str
    npc: str
    place: str
    errand: str
    text: str  # the user turn


def make_design(d: Draw, quest_type: str, reward: str) -> Design:
    qt = QUEST_TYPES[quest_type]
    npc, place, errand = d.pick(NPC_NAMES), d.pick(PLACES), d.pick(ERRAND_ITEMS)
    fill = {"npc": npc, "place": place, "errand": errand}

    def fmt(text: str) -> str:
        out = text.format(**fill)
        return out[0].upper() + out[1:]

    title = fmt(d.pick(qt.titles))
    middle = d.shuffled(qt.middle)[: d.int(1, 3)]
    beats = [fmt(d.pick(qt.opening)), *(fmt(b) for b in middle), fmt(d.pick(qt.closing))]
    mark = d.pick(("{i}.", "{i})", "-"))
    beat_lines = "\n".join(f"{mark.format(i=i)} {b}" for i, b in enumerate(beats, 1))
    constraints = d.shuffled(CONSTRAINTS)[: d.int(2, 4)]
    if "each text box fits 3 lines of 19 characters" not in constraints and d.chance(0.6):
        constraints.insert(0, "each text box fits 3 lines of 19 characters")
    task = d.pick(qt.goals).format(**fill)
    goal = d.pick(
        [
            f"{task[0].upper() + task[1:]} and earn a reward from {npc}.",
            f"{task[0].upper() + task[1:]}; {npc} pays Link for it.",
            f"The player has to {task}.",
            f"Link must {task}.",
        ]
    )
    kind = quest_type.replace("_", " ")
    intro = d.pick(
        [
            f"Quest design ({kind}): {title}.",
            f"Here's a {kind} quest for my hack: {title}.",
            f"New side quest, type {kind}: {title}.",
            f"{title} - a {kind} quest.",
        ]
    )
    heading = {part: d.pick(options) for part, options in HEADINGS.items()}
    lines = [
        intro,
        "",
        f"{heading['goal']} {goal}",
        f"{heading['beats']}\n{beat_lines}",
        f"{heading['reward']} {reward}.",
        f"{heading['constraints']} {'; '.join(constraints)}.",
        "",
        d.pick(ASKS),
    ]
    if d.chance(0.3):  # some designers put the reward before the beats
        lines[3], lines[4] = lines[4], lines[3]
    return Design(quest_type, title, npc, place, errand, "\n".join(lines))

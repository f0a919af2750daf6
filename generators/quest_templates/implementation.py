"""The ROM side of a quest (version 3), built on the user's ROM map so an ALttP hacker can accept it.

Every part comes from the map, not from a list of guesses (version 2's hooks split instructions, its
flags sat in the player's name, its messages were queued and never shown):

* **Hooks** are vanilla call sites (:mod:`generators.quest_templates.sites`): the quest-giver's talk
  call (``JSL Sprite_ShowSolicitedMessage``) and, per quest type, the step's site - another NPC's talk,
  an item hand-over (``JSL Link_ReceiveItem``) or a scripted message. Each ``org`` replaces that one
  4-byte ``JSL`` with ``autoclean JSL`` to the quest's routine, which makes the displaced call itself.
* **State** is one save byte vanilla never names and the hack does not claim (the hack file's own
  quest byte when it declares one): three bits - asked, found, paid out. The step writes "found",
  the giver tests it: every condition the reward tests is written by the patch.
* **Messages** go through the displaced ``Sprite_ShowSolicitedMessage`` call with the quest's own ids
  in A/Y, so the text box really opens; the quest's lines are new ids ($0190+) the hack adds.
* **The reward** is handed over by ``Link_ReceiveItem`` with its item id in Y, as vanilla NPCs do.
* Register widths are saved (``PHP``/``PLP``) around every width change, A, X and Y are preserved, and
  the code goes into ``freecode``.
"""

from __future__ import annotations

from dataclasses import dataclass

from curation.asm.behaviour import BehaviourSpec, Scenario
from curation.rommap import RomMap
from generators.draw import Draw, h2, h4
from generators.quest_templates.designs import Design
from generators.quest_templates.sites import RECEIVE, QuestSites, Site

# Item ids as Link_ReceiveItem takes them (the community's item tables); the reviewer checks the one drawn.
REWARDS = (
    ("a Bottle", 0x16),
    ("a Piece of Heart", 0x17),
    ("a Heart Container", 0x3E),
    ("100 Rupees", 0x40),
    ("300 Rupees", 0x46),
    ("10 Bombs", 0x31),
    ("10 Arrows", 0x44),
    ("the Magic Powder", 0x0D),
    ("50 Rupees", 0x41),
)
# Which site advances each quest type's middle step.
STEP_SITE = {
    "fetch": "receive",
    "talk": "talk",
    "trigger": "event",
    "fairy_fountain": "receive",
    "hidden_room": "event",
    "switch_puzzle": "event",
}
STEP_WORDS = {
    "talk": "when Link talks to them",
    "receive": "when Link is handed the item there",
    "event": "when that scripted message plays",
}


@dataclass(frozen=True)
class Plan:
    """Everything the implementation is made of, drawn once from the map."""

    routine: str  # the quest's routine-name stem
    giver: Site
    step: Site
    state: int  # the save byte
    state_claim: str  # the hack's name for it, or ""
    text_ask: int
    text_done: int
    reward: tuple[str, int]


def _at(address: int) -> str:
    return f"${address >> 16:02X}:{address & 0xFFFF:04X}"


def _state_byte(d: Draw, rom_map: RomMap) -> tuple[int, str]:
    """A save byte for the quest: one the hack file assigns to quests, else one vanilla never names."""
    claims = [c for c in rom_map.hack.sram if "quest" in (c.name + c.use).lower()]
    if claims:
        claim = d.pick(claims)
        return claim.address + d.int(0, claim.size - 1), claim.name
    free = rom_map.free_save_bytes()
    if not free:
        raise ValueError("no free save byte in $7EF400-$7EF4FD: declare one in your hack file ([[sram]])")
    return d.pick(free), ""


def draw_plan(d: Draw, quest_type: str, sites: QuestSites, rom_map: RomMap) -> Plan:
    giver = d.pick(sites.talk)
    step_kind = STEP_SITE[quest_type]
    choices = [s for s in sites.of(step_kind) if s.routine != giver.routine] or list(sites.of(step_kind))
    step = d.pick(choices)
    state, claim = _state_byte(d, rom_map)
    ask = d.int(0x190, 0x1F0)
    name = f"{quest_type.title().replace('_', '')}_{d.routine().split('_', 1)[-1]}"
    return Plan(name, giver, step, state, claim, ask, ask + d.int(1, 0x0F), d.pick(REWARDS))


LOCAL_LABELS = {
    "vanilla": (".vanilla", ".usual_line", ".as_vanilla", ".not_ours", ".default_line"),
    "thanks": (".thanks", ".pay_out", ".reward", ".errand_done", ".give_reward"),
    "exit": (".exit", ".done", ".return", ".out", ".leave"),
    "wait": (".wait", ".no_talk", ".later", ".not_yet", ".not_talked"),
    "skip": (".skip", ".not_asked", ".too_early", ".no_errand", ".ignore"),
}
STATE_NOUNS = ("State", "Flags", "Progress", "Status", "Bits", "Steps")
COMMENTS = {
    "keep_p": ("keep the caller's P (widths and flags)", "save P: widths and carry", "caller's widths"),
    "vanilla_a": ("vanilla's message id, low byte", "the id vanilla loaded", "A as the call site set it"),
    "paid": ("paid out already?", "reward given?", "quest finished?"),
    "found": ("errand done?", "step done?", "did Link do the step?"),
    "talked": ("carry set: Link talked this frame", "C=1 when Link pressed A", "carry: talked to"),
    "open": ("the errand is open", "asked", "quest started"),
    "slot": ("the sprite slot", "X = sprite index", "keep X for the sprite code"),
    "never": ("never again", "paid out", "done for good"),
    "displaced": ("the displaced call, as vanilla made it", "vanilla's own call", "what the hook replaced"),
    "only_talk": ("only when Link actually talked", "no talk, no progress", "C=0: nothing happened"),
    "given": ("only once the errand was given", "not asked yet: ignore", "needs the request first"),
    "step": ("the step is done", "mark the step", "progress"),
}


@dataclass(frozen=True)
class Style:
    """How one proposal writes its code: names, bits, idioms and comments, all drawn once."""

    state: str
    bits: tuple[int, int, int]  # asked, found, done
    labels: dict[str, str]
    bit_test: str  # AND | BIT
    set_first: bool  # LDA #bit : ORA state  instead of  LDA state : ORA #bit
    found_first: bool  # the giver checks "found" before "paid out"
    lower: bool
    comment_rate: float
    comments: dict[str, str]

    @classmethod
    def draw(cls, d: Draw, stem: str) -> Style:
        bits = d.shuffled([1 << i for i in range(8)])[:3]
        return cls(
            state=f"!{stem.replace('_', '')}{d.pick(STATE_NOUNS)}",
            bits=(bits[0], bits[1], bits[2]),
            labels={k: d.pick(v) for k, v in LOCAL_LABELS.items()},
            bit_test=d.pick(["AND", "BIT"]),
            set_first=d.chance(0.5),
            found_first=d.chance(0.5),
            lower=d.chance(0.3),
            comment_rate=d.pick([0.0, 0.4, 0.8]),
            comments={k: d.pick(v) for k, v in COMMENTS.items()},
        )


class _Writer:
    """Code lines in one proposal's style."""

    def __init__(self, d: Draw, style: Style) -> None:
        self.d = d
        self.style = style

    def line(self, text: str, comment: str = "") -> str:
        if text.endswith(":") or text.startswith((".", "!", "org", "freecode", "autoclean", "+")):
            out = text
        else:
            mnemonic, _, rest = text.partition(" ")
            out = "    " + (mnemonic.lower() if self.style.lower else mnemonic) + (f" {rest}" if rest else "")
        note = self.style.comments.get(comment, comment)
        return f"{out:<34}; {note}" if note and self.d.chance(self.style.comment_rate) else out

    def test(self, bit: int, comment: str = "") -> list[str]:
        return [self.line(f"LDA.l {self.style.state}"), self.line(f"{self.style.bit_test}.b #{h2(bit)}", comment)]

    def set(self, bit: int, comment: str = "") -> list[str]:
        state = self.style.state
        if self.style.set_first:
            return [self.line(f"LDA.b #{h2(bit)}"), self.line(f"ORA.l {state}", comment), self.line(f"STA.l {state}")]
        return [self.line(f"LDA.l {state}"), self.line(f"ORA.b #{h2(bit)}", comment), self.line(f"STA.l {state}")]


def _giver_routine(w: _Writer, plan: Plan, label: str) -> list[str]:
    asked, found, done = w.style.bits
    lab = w.style.labels
    item_name, item = plan.reward
    callee = plan.giver.callee
    if w.style.found_first:  # found? then paid out? - else ask
        checks = [
            *w.test(found, "found"),
            w.line("BEQ .ask"),
            *w.test(done, "paid"),
            w.line(f"BNE {lab['vanilla']}"),
            w.line(f"BRA {lab['thanks']}"),
            w.line(".ask"),
        ]
    else:
        checks = [
            *w.test(done, "paid"),
            w.line(f"BNE {lab['vanilla']}"),
            *w.test(found, "found"),
            w.line(f"BNE {lab['thanks']}"),
        ]
    return [
        w.line(f"{label}:", f"replaces JSL {callee} in {plan.giver.routine}"),
        w.line("PHP", "keep_p"),
        w.line("SEP #$20"),
        w.line("PHA", "vanilla_a"),
        *checks,
        w.line("PLA"),
        w.line("PLP"),
        w.line(f"LDA.b #{h2(plan.text_ask & 0xFF)}", f"message {h4(plan.text_ask)}: the request"),
        w.line(f"LDY.b #{h2(plan.text_ask >> 8)}"),
        w.line(f"JSL {callee}", "talked"),
        w.line(f"BCC {lab['exit']}"),
        w.line("PHP"),
        w.line("SEP #$20"),
        w.line("PHA"),
        *w.set(asked, "open"),
        w.line("PLA"),
        w.line("PLP"),
        w.line(lab["exit"]),
        w.line("RTL"),
        w.line(lab["thanks"]),
        w.line("PLA"),
        w.line("PLP"),
        w.line(f"LDA.b #{h2(plan.text_done & 0xFF)}", f"message {h4(plan.text_done)}: the thanks"),
        w.line(f"LDY.b #{h2(plan.text_done >> 8)}"),
        w.line(f"JSL {callee}"),
        w.line(f"BCC {lab['wait']}"),
        w.line("PHP"),
        w.line("SEP #$30"),
        w.line("PHA"),
        w.line("PHX", "slot"),
        w.line(f"LDY.b #{h2(item)}", item_name),
        w.line("STZ.w $02E9"),
        w.line(f"JSL {RECEIVE}"),
        w.line("PLX"),
        *w.set(done, "never"),
        w.line("PLA"),
        w.line("PLP"),
        w.line(lab["wait"]),
        w.line("RTL"),
        w.line(lab["vanilla"]),
        w.line("PLA"),
        w.line("PLP"),
        w.line(f"JSL {callee}", "displaced"),
        w.line("RTL"),
    ]


def _step_routine(w: _Writer, plan: Plan, label: str) -> list[str]:
    asked, found, _ = w.style.bits
    lab = w.style.labels
    step = plan.step
    head = [
        w.line(f"{label}:", f"replaces JSL {step.callee} in {step.routine}"),
        w.line(f"JSL {step.callee}", "displaced"),
    ]
    if step.kind == "talk":
        head.append(w.line(f"BCC {lab['exit']}", "only_talk"))
    return [
        *head,
        w.line("PHP"),
        w.line("SEP #$20"),
        w.line("PHA"),
        *w.test(asked, "given"),
        w.line(f"BEQ {lab['skip']}"),
        *w.set(found, "step"),
        w.line(lab["skip"]),
        w.line("PLA"),
        w.line("PLP"),
        w.line(lab["exit"]),
        w.line("RTL"),
    ]


def build_code(d: Draw, quest_type: str, plan: Plan) -> tuple[str, Style]:
    style = Style.draw(d, plan.routine)
    w = _Writer(d, style)
    giver_label, step_label = f"Quest_{plan.routine}_Giver", f"Quest_{plan.routine}_Step"
    claim = f"   ; {plan.state_claim} in the hack file" if plan.state_claim else ""
    asked, found, done = style.bits
    lines = [
        f"{style.state} = ${plan.state:06X}{claim}",
        f"; bits: {h2(asked)} asked, {h2(found)} found, {h2(done)} paid out" if d.chance(0.6) else "",
        f"org ${plan.giver.address:06X}" + (f"   ; {plan.giver.routine}" if d.chance(0.5) else ""),
        f"    autoclean JSL {giver_label}",
        "",
        f"org ${plan.step.address:06X}" + (f"   ; {plan.step.routine}" if d.chance(0.5) else ""),
        f"    autoclean JSL {step_label}",
        "",
        "freecode",
    ]
    routines = [_giver_routine(w, plan, giver_label), _step_routine(w, plan, step_label)]
    if d.chance(0.5):
        routines.reverse()
    return "\n".join([ln for ln in lines if ln is not None] + routines[0] + [""] + routines[1]), style


def implementation_text(d: Draw, design: Design, plan: Plan, code: str, style: Style) -> str:
    giver, step = plan.giver, plan.step
    item_name, item = plan.reward
    asked, found, done = style.bits
    bits = f"{h2(asked)} asked, {h2(found)} found, {h2(done)} paid out"
    why_free = (
        f"the hack file assigns it ({plan.state_claim})"
        if plan.state_claim
        else "no vanilla instruction names it and the hack file does not claim it"
    )
    hook_text = d.pick(
        [
            f"Hook points: {design.npc} is played by the NPC whose talk routine is {giver.routine}: its "
            f"`JSL {giver.callee}` at {_at(giver.address)} (vanilla message {h4(giver.value)}) becomes "
            f"`autoclean JSL Quest_{plan.routine}_Giver`. The step is the `JSL {step.callee}` in {step.routine} at "
            f"{_at(step.address)}, {STEP_WORDS[step.kind]}.",
            f"Hook points: two vanilla call sites, each a whole 4-byte JSL replaced by a JSL of the same size - "
            f"{_at(giver.address)} in {giver.routine} (the NPC standing in for {design.npc}) and "
            f"{_at(step.address)} in {step.routine} ({STEP_WORDS[step.kind]}). Each quest routine makes the "
            "displaced call itself, so vanilla behaviour is unchanged when the quest has nothing to do.",
        ]
    )
    flag_text = d.pick(
        [
            f"Flag: one save byte, {_at(plan.state)} ({bits}); {why_free}, and it is saved with the file.",
            f"Flag: the quest's state lives in {_at(plan.state)} of the save file - {bits}. It is free: {why_free}.",
        ]
    )
    message_text = d.pick(
        [
            f"Messages: message id {h4(plan.text_ask)} (the request) and message id {h4(plan.text_done)} (the thanks), "
            f"new entries in the hack's text, shown through {giver.callee} with the id in A (low) and Y (high).",
            f"Text: message id {h4(plan.text_ask)} while the errand is open, message id {h4(plan.text_done)} when "
            f"it is done; both go through the same {giver.callee} call vanilla makes, so the text box opens "
            "properly (3 lines of 19 characters per box).",
        ]
    )
    reward_text = (
        f"Reward: {item_name} via {RECEIVE} with Y = {h2(item)} (and STZ $02E9, as vanilla's givers do), so Link holds "
        f"it up with its sound and text; then {h2(done)} is set and the NPC goes back to its vanilla line."
    )
    sections = [hook_text, flag_text, message_text, reward_text]
    if d.chance(0.4):
        sections = [sections[0], *d.shuffled(sections[1:])]
    opening = d.pick(
        [
            f"The quest hooks two places the game already calls: {design.npc}'s talk routine and the step's site.",
            "Two hooks, one save byte, and only vanilla routines for text and the reward.",
            "Implementation in freecode, entered from two vanilla call sites that the player's actions reach.",
        ]
    )
    closing = d.pick(
        [
            "PHP/PLP save the caller's P around each width change, and A/X are pushed where the quest uses them.",
            "Every routine returns with the P it was entered with (PHP ... PLP), and the sprite slot in X survives.",
        ]
    )
    caveat = (
        f"Until the quest is paid out, {giver.routine}'s own line ({h4(giver.value)}) is replaced by the quest's: "
        "hook an NPC whose line is flavour text, not a shop, a game or a yes/no prompt whose answer vanilla reads "
        "after the call."
    )
    notes = [
        f"Vanilla's givers hand the item over after their text closes, from a later AI state; granting it as the "
        f"thanks box opens is simpler but worth a look in {d.emulator()}.",
        f"Add messages {h4(plan.text_ask)} and {h4(plan.text_done)} to the hack's text dump before assembling.",
        "autoclean lets Asar remove the freecode block if the patch is applied again.",
        f"Test on a fresh save: talk to {design.npc} ({h2(asked)}), do the step ({h2(found)}), return ({h2(done)} and "
        "the item); "
        f"watch {_at(plan.state)} in the memory viewer.",
    ]
    chosen = d.shuffled(notes)[: d.int(1, 2)]
    parts = [opening, "\n".join(sections), f"```asm\n{code}\n```", f"{closing} {caveat}"]
    parts.append(" ".join(chosen) if d.chance(0.5) else "\n".join(f"- {n}" for n in chosen))
    return "\n\n".join(parts)


# Scenario scaffolding: stubs for the vanilla routines that record what the quest asked of them.
ITEM_GIVEN, TALKED, SHOWN = 0x7F0000, 0x7F0002, 0x7F0004
_TALK_STUB = "\n".join(
    ["PHA", f"STA.l ${SHOWN:06X}", "TYA", f"STA.l ${SHOWN + 1:06X}", f"LDA.l ${TALKED:06X}", "LSR A", "PLA", "RTL"]
)
_RECEIVE_STUB = "\n".join(["PHA", "TYA", f"STA.l ${ITEM_GIVEN:06X}", "PLA", "RTL"])


def routine_code(code: str) -> str:
    """The quest's routines without the hooks: what the interpreter runs (the hooks are rom_patch's)."""
    define = code.split("\n", 1)[0]
    return define + "\n" + code.split("\nfreecode\n", 1)[1]


def behaviour_spec(plan: Plan, style: Style) -> BehaviourSpec:
    """The quest played through on a fresh save, as the CPU runs it: talk, step, return, after paying out.
    Each step may write only the quest's byte and what the stubs record."""
    asked, found, done = style.bits
    giver, step = f"Quest_{plan.routine}_Giver", f"Quest_{plan.routine}_Step"
    state, item = plan.state, plan.reward[1]
    vanilla = plan.giver.value
    entry = {"a": vanilla & 0xFF, "y": vanilla >> 8}
    widths = {"m8": True, "x8": True}
    allowed = (state, ITEM_GIVEN, SHOWN, SHOWN + 1)
    checks = ("returns", "stack_balanced", "widths_kept", "db_kept", "x_kept")

    def talk(name: str, before: int, talked: int, after: int, given: int, shown: int) -> Scenario:
        return Scenario(
            name,
            registers=entry,
            flags=widths,
            memory={state: bytes([before]), TALKED: bytes([talked]), ITEM_GIVEN: b"\x00"},
            expect_memory={state: bytes([after]), ITEM_GIVEN: bytes([given]), SHOWN: bytes([shown & 0xFF, shown >> 8])},
            properties=checks,
            may_write=allowed,
        )

    def at_step(name: str, before: int, after: int) -> Scenario:
        return Scenario(
            name,
            entry=step,
            flags=widths,
            memory={state: bytes([before]), TALKED: b"\x01", ITEM_GIVEN: b"\x00"},
            expect_memory={state: bytes([after])},
            properties=checks,
            may_write=allowed,
        )

    paid = asked | found | done
    scenarios = (
        talk("fresh save: Link talks to the giver", 0, 1, asked, 0, plan.text_ask),
        talk("fresh save: Link walks past", 0, 0, 0, 0, plan.text_ask),
        talk("errand open, step not done: no reward yet", asked, 1, asked, 0, plan.text_ask),
        talk("step done: the reward, once", asked | found, 1, paid, item, plan.text_done),
        talk("paid out: the giver's vanilla line, no second reward", paid, 1, paid, 0, vanilla),
        at_step("the step before the errand was given: nothing", 0, 0),
        at_step("the step after the errand was given: found", asked, asked | found),
    )
    stubs = {"Sprite_ShowSolicitedMessage": _TALK_STUB, "Link_ReceiveItem": _RECEIVE_STUB}
    return BehaviourSpec(giver, "jsl", scenarios, stubs=stubs)

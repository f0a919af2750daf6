"""The ROM side of a quest: hook, SRAM flag, message ids, the reward, and asm that assembles with Asar.

The code is assembled from parts that vary as real patches do: how the message id is queued (two
8-bit stores or one 16-bit store to $1CF0), how the reward is granted (set an item byte, add with a
cap, a 16-bit rupee add, a heart container), the quest type's own check (the fetched item, the
story stage, the torches lit, the switches pressed), and whether the routine saves P or sets the
sizes itself. The prose around it names the hook point, the flag and both message ids (what
``quest_structure`` checks) in a drawn order and wording.

The hook addresses are *illustrative*: they assemble, but whether each is the right place to hook
in a given ROM is what the expert reviewing the proposal decides. $1CF0/$1CF1 is where ALTTP queues
the next message id; the flag bytes are taken from $7EF3D0-$7EF3EF, which a hack must check against
its own SRAM map.
"""

from __future__ import annotations

from dataclasses import dataclass

from generators.draw import Draw, h2, h4, h6
from generators.quest_templates.designs import Design

HOOKS = (
    (0x05E1A0, "the NPC's talk routine"),
    (0x068AB3, "the chest-opening handler"),
    (0x1EE0C4, "the room's load routine"),
    (0x028364, "the overworld transition"),
    (0x06C0F2, "the fairy fountain handler"),
    (0x01C5A4, "the switch tile handler"),
    (0x07B0D4, "Link's item-use routine"),
    (0x09C2A0, "the overworld secret check"),
    (0x0EE8D0, "the end of the text box handler"),
    (0x1D8C40, "the sprite prep routine"),
    (0x0287E0, "the dungeon door handler"),
    (0x0DB2F0, "the HUD refresh"),
)


@dataclass(frozen=True)
class Reward:
    name: str
    address: int
    grant: str  # set | add | inc | add16 | heart
    amount: int
    cap: int = 0


REWARDS = (
    Reward("a Bottle", 0x7EF35C, "set", 0x02),
    Reward("10 Bombs", 0x7EF343, "add", 0x0A, 0x32),
    Reward("30 Arrows", 0x7EF377, "add", 0x1E, 0x46),
    Reward("the Magic Powder", 0x7EF344, "set", 0x02),
    Reward("a Piece of Heart", 0x7EF36B, "inc", 0x01),
    Reward("100 Rupees", 0x7EF360, "add16", 0x64),
    Reward("300 Rupees", 0x7EF360, "add16", 0x12C),
    Reward("a Heart Container", 0x7EF36C, "heart", 0x08),
    Reward("half magic", 0x7EF37B, "set", 0x01),
    Reward("5 Bombs", 0x7EF343, "add", 0x05, 0x32),
)


@dataclass(frozen=True)
class Plan:
    """Everything the implementation is made of, drawn once."""

    routine: str
    hook: int
    hook_desc: str
    free_bank: int
    flag: int
    bit: int
    text_ask: int
    text_done: int
    reward: Reward
    state: int  # a second SRAM byte some quest types keep their progress in
    save_p: bool


def draw_plan(d: Draw, quest_type: str) -> Plan:
    hook, hook_desc = d.pick(HOOKS)
    ask = d.int(0x100, 0x17F)
    flag = 0x7EF3C0 + d.int(0x10, 0x2E)
    return Plan(
        routine=f"Quest_{quest_type.title().replace('_', '')}_{d.routine().split('_', 1)[-1]}",
        hook=hook,
        hook_desc=hook_desc,
        free_bank=d.int(0x20, 0x27),
        flag=flag,
        bit=1 << d.int(0, 7),
        text_ask=ask,
        text_done=d.int(0x180, 0x1FF),
        reward=d.pick(REWARDS),
        state=flag + 1,
        save_p=d.chance(0.6),
    )


def _message(d: Draw, message: int) -> list[str]:
    """Queue a message id at $1CF0/$1CF1: two byte stores, one word store through A, or through X."""
    way = d.int(0, 2)
    if way == 0:
        return [f"LDA #{h2(message)}", "STA $1CF0", f"LDA #{h2(message >> 8)}", "STA $1CF1"]
    if way == 1:
        return ["REP #$20", f"LDA #{h4(message)}", "STA $1CF0", "SEP #$20"]
    return ["REP #$10", f"LDX #{h4(message)}", "STX $1CF0", "SEP #$10"]


def _flag_test(d: Draw, flag: str, bit: str) -> list[str]:
    if d.chance(0.5):
        return [f"LDA {flag}", f"AND #{bit}", "BNE .done"]
    return [f"LDA {flag}", f"BIT #{bit}", "BNE .done"]


def _flag_set(d: Draw, flag: str, bit: str) -> list[str]:
    if d.chance(0.5):
        return [f"LDA {flag}", f"ORA #{bit}", f"STA {flag}"]
    return [f"LDA #{bit}", f"ORA {flag}", f"STA {flag}"]


def _grant(reward: Reward) -> list[str]:
    a = h6(reward.address)
    if reward.grant == "set":
        return [f"LDA #{h2(reward.amount)}", f"STA {a}"]
    if reward.grant == "inc":
        return [f"LDA {a}", "INC A", f"STA {a}"]
    if reward.grant == "add":
        return [f"LDA {a}", "CLC", f"ADC #{h2(reward.amount)}", f"CMP #{h2(reward.cap)}", "BCC +"]
    if reward.grant == "add16":
        return ["REP #$20", f"LDA {a}", "CLC", f"ADC #{h4(reward.amount)}", f"STA {a}", "SEP #$20"]
    return [f"LDA {a}", "CLC", f"ADC #{h2(reward.amount)}", f"STA {a}", "STA $7EF36D"]  # heart: max and fill


def _grant_lines(reward: Reward) -> list[str]:
    lines = _grant(reward)
    if reward.grant == "add":  # the capped add finishes here: clamp, then store
        lines += [f"LDA #{h2(reward.cap)}", "+", f"STA {h6(reward.address)}"]
    return lines


def _type_check(quest_type: str, plan: Plan, d: Draw) -> tuple[list[str], str]:
    """Lines that decide whether the reward is due yet, and the sentence explaining them."""
    state = h6(plan.state)
    not_yet = ".not_yet"
    if quest_type == "fetch":
        have = 1 << d.int(0, 7)
        return (
            [f"LDA {state}", f"AND #{h2(have)}", f"BEQ {not_yet}"],
            f"bit {h2(have)} of {state} is set when Link picks up the errand item, so the reward waits for it",
        )
    if quest_type == "talk":
        parts = d.int(2, 4)
        return (
            [f"LDA {state}", f"CMP #{h2(parts)}", "BCS .ending", "INC A", f"STA {state}", f"BRA {not_yet}", ".ending"],
            f"{state} counts the parts of the story told so far; the reward comes after part {parts}",
        )
    if quest_type == "trigger":
        torches = d.int(2, 4)
        return (
            [f"LDA {state}", f"CMP #{h2(torches)}", f"BCC {not_yet}"],
            f"{state} counts what the player has lit or pressed; {torches} are needed",
        )
    if quest_type == "switch_puzzle":
        mask = (1 << d.int(2, 4)) - 1
        return (
            [f"LDA {state}", f"AND #{h2(mask)}", f"CMP #{h2(mask)}", f"BNE {not_yet}"],
            f"each switch sets one bit of {state}; all of {h2(mask)} must be set",
        )
    if quest_type == "fairy_fountain":
        return (
            [f"LDA {state}", f"BEQ {not_yet}"],
            f"{state} becomes non-zero once the offering was thrown into the fountain",
        )
    return (
        [f"LDA {state}", "AND #$01", f"BEQ {not_yet}"],
        f"bit 0 of {state} is set when the hidden entrance is found",
    )


def build_code(d: Draw, quest_type: str, plan: Plan) -> tuple[str, str]:
    """The patch, and the sentence about the quest type's own check."""
    check, why_check = _type_check(quest_type, plan, d)
    flag, bit = h6(plan.flag), h2(plan.bit)
    head = ["PHP", "SEP #$30"] if plan.save_p else ["SEP #$30"]
    tail = ["PLP", "RTL"] if plan.save_p else ["RTL"]
    body = [*_flag_test(d, flag, bit), *check]
    body += _message(d, plan.text_done) + _grant_lines(plan.reward)
    body += [*_flag_set(d, flag, bit), "BRA .done", ".not_yet", *_message(d, plan.text_ask)]
    hook = [f"org {h6(plan.hook)}", f"    JSL {plan.routine}", "    NOP"]
    if d.chance(0.4):  # the patch keeps its place in the file
        hook = ["pushpc", *hook, "pullpc"]
    routine = [f"org ${plan.free_bank:02X}8000", f"{plan.routine}:", *head, *body, ".done", *tail]
    code = "\n".join(hook) + "\n\n" + d.asm(routine)
    return code.replace("    org", "org"), why_check


def implementation_text(d: Draw, design: Design, plan: Plan, code: str, why_check: str) -> str:
    hook_text = d.pick(
        [
            f"Hook point: ${plan.hook >> 16:02X}:{plan.hook & 0xFFFF:04X} ({plan.hook_desc}) is patched with a JSL to "
            f"{plan.routine} in free space at ${plan.free_bank:02X}:8000.",
            f"Hook point: {plan.hook_desc} at ${plan.hook >> 16:02X}:{plan.hook & 0xFFFF:04X}; the org there "
            f"replaces five bytes with JSL {plan.routine} (four) and a NOP.",
            f"Hook point: ${plan.hook >> 16:02X}:{plan.hook & 0xFFFF:04X}, inside {plan.hook_desc}, jumps to "
            f"{plan.routine} (bank ${plan.free_bank:02X}).",
        ]
    )
    bit_no = plan.bit.bit_length() - 1
    flag_text = d.pick(
        [
            f"Flag: SRAM {h6(plan.flag)} bit {bit_no} (mask {h2(plan.bit)}) records that the reward was given, so "
            "it survives saving and never pays out twice.",
            f"Flag: bit {bit_no} of {h6(plan.flag)} in the save data; once set, {plan.routine} only shows the "
            "thank-you line.",
            f"Flag: {h6(plan.flag)} & {h2(plan.bit)}, part of the SRAM copy in WRAM, so the quest state is saved "
            "with the file.",
        ]
    )
    message_text = d.pick(
        [
            f"Message id {h4(plan.text_ask)} is what {design.npc} says while the quest is open; message id "
            f"{h4(plan.text_done)} is the thank-you line, both written for 3 lines of 19 characters.",
            f"Messages: message id {h4(plan.text_ask)} (the request) and message id {h4(plan.text_done)} (the "
            "reward line), queued through $1CF0/$1CF1.",
            f"Text: message id {h4(plan.text_done)} when {plan.reward.name} is handed over, message id "
            f"{h4(plan.text_ask)} on every visit before that.",
        ]
    )
    sections = [hook_text, flag_text, message_text]
    if d.chance(0.4):
        sections = d.shuffled(sections)
    opening = d.pick(
        [
            f"The quest hangs off {plan.hook_desc}, keeps its state in SRAM and grants {plan.reward.name} once.",
            f"{plan.routine} runs from {plan.hook_desc}: it checks the quest's SRAM flag, then pays out "
            f"{plan.reward.name} a single time.",
            f"Implementation in one routine in free space, called from {plan.hook_desc}.",
        ]
    )
    closing = [
        d.pick(
            [
                "PHP/PLP keep the caller's register sizes intact"
                if plan.save_p
                else "SEP #$30 sets the sizes the routine needs",
                "The routine sets its own register sizes" if not plan.save_p else "P is saved and restored",
            ]
        )
        + f"; the flag check makes it safe to run on every visit, and {why_check}.",
        d.pick(
            [
                "Writing $1CF0/$1CF1 queues the message id the dialogue engine shows next.",
                "The message id goes to $1CF0 (low) and $1CF1 (high), where the text engine picks it up.",
            ]
        ),
    ]
    notes = [
        f"The NOP pads the five bytes the JSL overwrote at ${plan.hook >> 16:02X}:{plan.hook & 0xFFFF:04X}; "
        "whatever those bytes did has to be redone in the routine or moved after the hook.",
        f"Check ${plan.free_bank:02X}:8000 against the ROM's free-space map before applying the patch.",
        f"{h6(plan.state)} keeps the quest's progress next to the flag, so both are saved together.",
        f"If {plan.hook_desc} is already hooked by another patch, chain to that patch's routine instead.",
        f"The text for message id {h4(plan.text_ask)} must stay within 3 lines of 19 characters per box.",
        f"{design.npc.capitalize()} keeps repeating message id {h4(plan.text_done)} after the reward, which is "
        "what the flag check is for.",
    ]
    chosen = d.shuffled(notes)[: d.int(0, 2)]
    test = d.pick(
        [
            f"To test: start a new file, walk to {design.place}, and watch {h6(plan.flag)} in {d.emulator()}'s "
            "memory viewer as the reward is given.",
            f"Test on a save that already has the flag set as well: {plan.routine} must only show message id "
            f"{h4(plan.text_done)} again.",
            "",
        ]
    )
    parts = [opening, "\n".join(sections), f"```asm\n{code}\n```", " ".join(closing)]
    if chosen:
        parts.append(" ".join(chosen) if d.chance(0.5) else "\n".join(f"- {n}" for n in chosen))
    if test:
        parts.append(test)
    return "\n\n".join(parts)

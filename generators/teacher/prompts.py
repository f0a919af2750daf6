"""Prompt templates per kind, and the JSON contract every teacher reply must meet.

The debug prompt is the field's diagnosis-first generation prompt: the answer opens with the bug's
name, ties a diagnosis to the symptom, walks through what the CPU does, and ends with a fix that
assembles. Replies are one JSON object ``{"question": ..., "answer": ...}``; a reply that is not gets
one repair request quoting the problem, then the task is recorded as failed with the raw text kept.
"""

from __future__ import annotations

import json
import re

from generators.teacher.tasks import TeacherTask

PROMPT_VERSION = "1"

SYSTEM = (
    "You write training data for an assistant that debugs SNES 65816 assembly (Asar syntax) and implements "
    "Zelda: A Link to the Past ROM-hack quests. You answer with a single JSON object and nothing else."
)

DEBUG_TEMPLATE = """Write one debugging dialogue about a {category_words} bug in {idiom}.

"question": what a ROM hacker asks: the buggy routine in an ```asm block (Asar syntax, 8-30 lines, real
SNES registers and WRAM addresses) and the symptom they see in the emulator.

"answer": diagnosis first, in exactly this order:
**Bug: <short name of the bug>**
<one paragraph tying the diagnosis to the symptom and to the lines at fault>
**What's happening:**
1. <what the CPU does, step by step, naming registers, flags and sizes>
2. ...
**Fix:**
<the corrected routine in an ```asm block that assembles with Asar, then one paragraph on why it works>

No hedging ("I think", "maybe"), no refusals. Reply with JSON: {{"question": "...", "answer": "..."}}"""

QUEST_TEMPLATE = """Design one "{category}" quest for an ALTTP ROM hack and implement it, themed around {idiom}.

"question": the quest as a designer writes it: goal, 3-4 beats, the reward, and constraints (text boxes of
at most 3 lines of 19 characters, one SRAM flag).

"answer": the implementation: the hook point (org address and what it replaces), the SRAM/RAM flag and
its bit, the message ids, the item grant, and the routine in an ```asm block (Asar syntax, pushpc/pullpc
around the hook) that assembles, then how to test it in an emulator.

Reply with JSON: {{"question": "...", "answer": "..."}}"""

REPAIR_TEMPLATE = """Your reply could not be used: {problem}
Reply again with only one JSON object with two string fields, "question" and "answer", and no other text."""

_FENCED_JSON = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)


def task_messages(task: TeacherTask) -> list[dict[str, str]]:
    if task.kind == "quest_implementation":
        user = QUEST_TEMPLATE.format(category=task.category, idiom=task.idiom)
    else:
        user = DEBUG_TEMPLATE.format(category_words=task.category.replace("_", " "), idiom=task.idiom)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def repair_messages(task: TeacherTask, reply: str, problem: str) -> list[dict[str, str]]:
    return [
        *task_messages(task),
        {"role": "assistant", "content": reply},
        {"role": "user", "content": REPAIR_TEMPLATE.format(problem=problem)},
    ]


class ReplyError(ValueError):
    """The reply does not meet the JSON contract; the message says how, for the repair prompt."""


def parse_reply(text: str) -> tuple[str, str]:
    """``(question, answer)`` from a reply; tolerates a ```json fence, nothing else."""
    body = text.strip()
    fenced = _FENCED_JSON.search(body)
    if fenced and not body.startswith("{"):
        body = fenced.group(1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ReplyError(f"it is not valid JSON ({exc.msg} at character {exc.pos})") from exc
    if not isinstance(data, dict):
        raise ReplyError("it is JSON but not an object")
    missing = [k for k in ("question", "answer") if not isinstance(data.get(k), str) or not data[k].strip()]
    if missing:
        raise ReplyError(f"the fields {', '.join(missing)} are missing or empty")
    return data["question"].strip(), data["answer"].strip()

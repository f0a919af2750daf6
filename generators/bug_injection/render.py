"""Arrange a ``Case`` as a user turn and a diagnosis-first answer, with the frame's wording drawn too.

The user turn varies as real ones do: how they open, whether they say where the code runs, whether
the symptom comes before or after the code, how they ask. The answer keeps the order
``diagnosis_first`` requires - ``**Bug: ...**``, a diagnosis paragraph, numbered ``**What's
happening:**`` steps, ``**Fix:**`` with code and why - and varies what can vary inside it: whether the
faulty line is quoted, where the debugger observation sits among the steps, whether the why comes
before or after the fixed code, and an optional way to confirm the fix.
"""

from __future__ import annotations

from generators.bug_injection.case import Case
from generators.draw import Draw
from generators.vocabulary import HACK_CONTEXTS

INTROS = (
    "Can you look at this routine?",
    "I'm stuck on this code from my ROM hack.",
    "This is part of my ALTTP hack.",
    "Something is off in this routine.",
    "Been debugging this for hours:",
    "Quick question about some 65816 code.",
    "I wrote this for my hack and it misbehaves.",
    "Here's a routine I added to the game.",
    "Could use a second pair of eyes on this.",
    "New to SNES asm, so bear with me.",
    "This assembles fine with Asar, but it doesn't work.",
    "Got a bug I can't pin down.",
    "Second day on this one.",
    "My patch works except for one thing.",
    "",
)
ASKS = (
    "What's wrong?",
    "Why does this happen?",
    "What am I missing?",
    "Where's the bug?",
    "Any idea what's going on?",
    "How do I fix it?",
    "What did I get wrong here?",
    "Why?",
    "",
)
TRIED = (
    "Asar doesn't complain at all.",
    "I already stepped through it in {emulator} and couldn't spot it.",
    "It worked before I moved it into free space.",
    "Same thing on a fresh save file.",
    "I double-checked the RAM addresses against the disassembly.",
    "Happens in {emulator} and on real hardware.",
    "I've rewritten this twice already.",
    "",
    "",
    "",
)
SYMPTOM_LEADS = ("", "Symptom: ", "The problem: ", "What I see: ", "In game: ")
CULPRIT_LINES = (
    "The line at fault is `{line}`.",
    "It comes down to `{line}`.",
    "Look at `{line}`.",
    "The culprit is `{line}`.",
)
OBSERVE_LEADS = ("In the debugger: ", "You can see it in {emulator}: ", "Observed: ", "")
WHY_LEADS = ("", "Why this works: ", "Why it works: ", "")
HAPPENING = ("**What's happening:**", "**What's happening:**", "**What’s happening:**")


def render(case: Case, d: Draw) -> tuple[str, str]:
    return _question(case, d), _answer(case, d)


def _question(case: Case, d: Draw) -> str:
    intro = d.pick(INTROS)
    context = ""
    if d.chance(0.55):
        context = d.pick(HACK_CONTEXTS).format(
            caller=case.caller or d.caller(), emulator=d.emulator(), bank=d.pick("0123456789ABCDEF")
        )
    code = f"```asm\n{case.buggy}\n```"
    tried = d.pick(TRIED).format(emulator=d.emulator())
    symptom = " ".join(p for p in (d.pick(SYMPTOM_LEADS) + case.symptom, tried) if p)
    ask = d.pick(ASKS)
    opening = " ".join(p for p in (intro, context) if p)
    layout = d.int(0, 3)
    if layout == 3:  # terse, as many of the field's questions are: the code and what goes wrong
        parts = [code, " ".join(p for p in (case.symptom, d.pick(("", "What's wrong?", "Why?"))) if p)]
    elif layout == 0:  # intro, code, symptom and question
        parts = [opening, code, " ".join(p for p in (symptom, ask) if p)]
    elif layout == 1:  # symptom first, then the code
        parts = [" ".join(p for p in (opening, case.symptom) if p), code, " ".join(p for p in (tried, ask) if p)]
    else:  # code first, then everything else
        parts = [code, " ".join(p for p in (opening, symptom, ask) if p)]
    return "\n\n".join(p for p in parts if p)


def _answer(case: Case, d: Draw) -> str:
    diagnosis = case.diagnosis
    if case.culprit and d.chance(0.4):
        quote = d.pick(CULPRIT_LINES).format(line=case.culprit)
        diagnosis = f"{quote} {diagnosis}" if d.chance(0.5) else f"{diagnosis} {quote}"
    steps = list(case.steps)
    if case.observe and d.chance(0.6):
        observed = d.pick(OBSERVE_LEADS).format(emulator=d.emulator()) + case.observe
        steps = [observed, *steps] if d.chance(0.4) else [*steps, observed]
    mark = d.pick((".", ".", ")"))
    numbered = "\n".join(f"{i}{mark} {s}" for i, s in enumerate(steps, 1))
    code = f"```asm\n{case.fixed}\n```"
    why = d.pick(WHY_LEADS) + case.why
    fix = f"**Fix:**\n{code}\n\n{why}" if d.chance(0.6) else f"**Fix:** {case.why}\n{code}"
    return f"**Bug: {case.title}**\n\n{diagnosis}\n\n{d.pick(HAPPENING)}\n{numbered}\n\n{fix}"

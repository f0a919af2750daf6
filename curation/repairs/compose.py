"""Restructure a legacy answer into the diagnosis-first shape, moving its text and adding none of substance.

The parts come from ``legacy.py``. The rewrite is

    **Bug: <the header's type>**
    <the first diagnosis sentences, until the paragraph has the 12 words diagnosis_first needs>
    **What's happening:**
    1. <each further diagnosis sentence, in order, with the code that followed it>
    n. Result: <the symptom the user stated, quoted from the question>
    **Fix:**
    <the original fix section, verbatim>
    <the diagnosis's advice sentences ("Use ...", "Always ...") - why the fix works>

The only words added are the section headers, the step numbers and "Result:" (a ``**Fix - if X:**``
heading becomes ``**Fix:** if X:``, and ``category.py`` may name the category in the header). A symptom step is
added only when the question states one that the answer does not already repeat; when what is left
cannot make two steps, the answer is not restructured (an expert or a teacher has to write it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from curation.repairs.legacy import LegacyAnswer, NotRestructurable, Unit, parse_legacy, symptom
from curation.validators.diagnosis_first import MIN_DIAGNOSIS_WORDS
from curation.validators.text import words

# A sentence that tells the reader what to do belongs with the fix, as its "why", not in the diagnosis:
# it opens with an instruction ("Use MVP.", "Always ...") or ends in one ("For overlaps, use MVP.").
_ADVICE = re.compile(
    r"^(?:also\s+)?(?:always|never|use|need|make sure|ensure|check|verify|remember|consider|avoid|don't|do not|"
    r"be sure|you must|you need to|you (?:probably |likely )?want)\b"
    r"|[,;:]\s+(?:use|make sure|ensure|check|verify|avoid|consider|you must|you need to)\b",
    re.I,
)
MIN_STEPS = 2


@dataclass
class Restructured:
    answer: str
    fixed: list[str] = field(default_factory=list)  # what the restructuring did, for metadata and reports


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9$#]+", text.lower()))


def _is_advice(unit: Unit) -> bool:
    return not unit.blocks and not unit.lead_in and bool(_ADVICE.search(unit.text))


def _paragraphs(units: list[Unit]) -> str:
    """Units as running prose, broken only where a code block sits."""
    out: list[str] = []
    text: list[str] = []
    for unit in units:
        if unit.text:
            text.append(unit.text)
        if unit.blocks:
            if text:
                out.append(" ".join(text))
                text = []
            out.extend(unit.blocks)
    if text:
        out.append(" ".join(text))
    return "\n\n".join(out)


@dataclass
class _Step:
    unit: Unit
    after: list[Unit] = field(default_factory=list)  # lead-ins and their code that follow this step

    def render(self, n: int) -> str:
        return "\n".join([f"{n}. {self.unit.text}", *self.unit.blocks, *(u.render() for u in self.after)])


@dataclass
class _Plan:
    diagnosis: list[Unit]
    steps: list[_Step]
    advice: list[Unit]
    fix_lead_in: Unit | None
    with_symptom: bool


def _plan(legacy: LegacyAnswer, question: str) -> _Plan:
    """Which units make the diagnosis paragraph, which the steps, which go with the fix."""
    units = list(legacy.units)
    fix_lead_in = units.pop() if units and units[-1].lead_in and not units[-1].blocks else None
    cause = [u for u in units if not _is_advice(u)]
    advice = [u for u in units if _is_advice(u)]
    if not any(u.text and not u.lead_in for u in cause):
        raise NotRestructurable(
            "no_diagnosis", "the answer states no cause beyond its Bug header; someone has to write one"
        )
    k, count = 0, len(words(legacy.bug_type))
    while k < len(cause) and (k == 0 or count < MIN_DIAGNOSIS_WORDS or cause[k].lead_in):
        count += len(words(cause[k].text))
        k += 1
    if count < MIN_DIAGNOSIS_WORDS:
        raise NotRestructurable(
            "thin_diagnosis",
            f"the diagnosis has {count} words with its bug type; diagnosis_first needs {MIN_DIAGNOSIS_WORDS}",
        )
    diagnosis, steps = cause[:k], []
    for unit in cause[k:]:
        if unit.lead_in:  # an introduction is no step: it stays with the step before it
            steps[-1].after.append(unit)
        else:
            steps.append(_Step(unit))
    seen = _norm(" ".join([legacy.bug_type, *(u.text for u in legacy.units)]))
    stated = symptom(question)
    with_symptom = bool(stated) and _norm(stated) not in seen
    if with_symptom:
        steps.append(_Step(Unit(f"Result: {stated}")))
    if len(steps) < MIN_STEPS:
        raise NotRestructurable(
            "too_few_steps",
            f"after the diagnosis paragraph {len(steps)} statement(s) are left for What's happening; "
            f"it needs {MIN_STEPS}",
        )
    return _Plan(diagnosis, steps, advice, fix_lead_in, with_symptom)


def restructure(answer: str, question: str, *, bug_type: str | None = None) -> Restructured:
    """The diagnosis-first rewrite of a legacy ``answer`` to ``question``; ``bug_type`` replaces the
    header's type (``category.py`` uses it to name the category). Raises NotRestructurable."""
    legacy = parse_legacy(answer)
    plan = _plan(legacy, question)
    fixed = ["whats_happening_steps"]
    if plan.with_symptom:
        fixed.append("symptom_step")
    heading = legacy.fix_heading
    if legacy.fix_heading_normalised:
        fixed.append("fix_heading")
    fix_lines = [heading]
    if plan.fix_lead_in is not None:
        fix_lines.append(plan.fix_lead_in.text)
        fixed.append("lead_in_moved_to_fix")
    fix = "\n".join([*fix_lines, legacy.fix_body.strip("\n")]).rstrip()
    if plan.advice:
        fix += "\n\n" + " ".join(u.text for u in plan.advice)
        fixed.append("advice_moved_to_fix")
    parts = [
        f"**Bug: {bug_type or legacy.bug_type}**",
        _paragraphs(plan.diagnosis),
        "**What's happening:**\n" + "\n".join(step.render(i) for i, step in enumerate(plan.steps, 1)),
        fix,
    ]
    return Restructured("\n\n".join(parts), fixed)

"""The request a teacher or bootstrap model gets for an answer the restructuring could not repair.

It states the field's diagnosis-first format (the teacher's generation prompt, ``generators/teacher/
prompts.py``, asks for the same shape; ``curation/validators/diagnosis_first.py`` checks it), gives the
original question and answer, and asks for every code block verbatim. The reply is the rewritten answer
itself, as Markdown - no JSON, so code is never escaped and a small model is not asked for a contract it
cannot keep. ``REPAIR_PROMPT_VERSION`` is part of the ledger key: a new wording asks again.
"""

from __future__ import annotations

import re

from curation.repairs.category import category_label
from curation.validators.terms import terms_for
from curation.validators.text import code_blocks
from schemas.sample import Role, SampleRevision

REPAIR_PROMPT_VERSION = "1"

SYSTEM = (
    "You edit training data for an assistant that debugs SNES 65816 assembly (Asar syntax). You rewrite one "
    "answer into the required format without changing what it says or any of its code, and you reply with the "
    "rewritten answer only, as Markdown."
)

FORMAT = """**Bug: <short name of the bug>**
<one paragraph of at least 12 words tying the diagnosis to the symptom in the question and to the lines at fault>
**What's happening:**
1. <what the CPU does, step by step, naming registers, flags and sizes>
2. ...
**Fix:**
<the original answer's code block(s), copied exactly>
<one paragraph on why the fix works>"""

TEMPLATE = """Rewrite the answer below into the diagnosis-first format, in exactly this order:

{format}

Rules:
- Keep the original's diagnosis: the same bug, the same cause and the same fix. Spell out what it implies \
(what the CPU does, step by step) but add no other bug and no other fix.
- Keep every code block of the original answer verbatim, byte for byte: the same fence line, the same lines, \
comments and spacing, in the same order. Add no other code block. The original has {blocks}.
- At least two numbered steps under **What's happening:**.
- No hedging ("I think", "maybe", "perhaps"), no refusals, no request for more code.{terms}

The question:
<<<
{question}
>>>

The original answer:
<<<
{answer}
>>>

Reply with the rewritten answer only: start with **Bug:**, no preface, no closing remarks."""

_WRAPPED = re.compile(r"\A```(?:markdown|md|text)?[ \t]*\n(?P<body>.*)\n```\s*\Z", re.S | re.I)


def _terms_rule(category: str | None) -> str:
    groups = terms_for(category)
    if not groups or not category:
        return ""
    names = "; ".join(" or ".join(g.alternatives) for g in groups)
    label = category_label(category)
    return f"\n- This is a {label} bug: the diagnosis names these terms where they are true: {names}."


def repair_request(original: SampleRevision) -> list[dict[str, str]]:
    """The chat messages asking for a diagnosis-first rewrite of ``original``'s final answer."""
    question = "\n\n".join(m.content for m in original.messages[:-1] if m.role == Role.user)
    n = len(code_blocks(original.answer))
    blocks = "no code block" if n == 0 else "1 code block" if n == 1 else f"{n} code blocks"
    user = TEMPLATE.format(
        format=FORMAT, blocks=blocks, terms=_terms_rule(original.category), question=question, answer=original.answer
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def answer_from_reply(reply: str) -> str:
    """The rewritten answer in a reply: stripped, and unwrapped when the whole reply is one Markdown fence
    (which some models put around everything; the fence is not the answer's own code)."""
    text = reply.strip()
    wrapped = _WRAPPED.match(text)
    if wrapped and wrapped.group("body").lstrip().startswith("**"):
        text = wrapped.group("body").strip()
    return text

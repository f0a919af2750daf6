"""The keyword rules the classifier replaces, measured beside it in ``triforge classify --evaluate``.

- intent: a keyword router - the first rule whose words the prompt contains (explanation, then
  optimisation, debugging, generation), else ``generation`` (a bare request is usually "write X").
  The words are the field's own prompt vocabulary ("Explain this 65816 code", "Optimize this",
  "What's wrong?") plus their common synonyms; they were written once, not tuned on the eval files.
- kind: the importer's text heuristic (an answer that opens with ``**Bug`` is a debugging dialogue),
  else the kind the keyword router's intent names, ``quest`` words meaning a quest implementation.
- category: the bug category whose term list (``curation/validators/terms.py``, what the
  terminology validator checks) has the largest share of its term groups in the conversation, among
  the categories being evaluated; ties go to more groups found, then the name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from curation.classify.tasks import KIND_INTENTS
from curation.validators.terms import terms_for
from schemas.sample import Kind

INTENT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("explanation", re.compile(r"\b(explain\w*|what does|what is|what are|how does|describe|meaning of)\b", re.I)),
    (
        "optimization",
        re.compile(r"\b(optimi[sz]\w*|faster|speed\w*|fewer|smaller|improve\w*|efficient\w*|cycles|shorter)\b", re.I),
    ),
    (
        "debugging",
        re.compile(
            r"\b(bug\w*|debug\w*|crash\w*|wrong|broken|fix\w*|fails?|failing|glitch\w*|corrupt\w*|"
            r"doesn'?t|does not|isn'?t working|not working|why)\b",
            re.I,
        ),
    ),
    ("generation", re.compile(r"\b(write|generate|create|implement|make|add|build|code to|routine|function)\b", re.I)),
)
_QUEST = re.compile(r"\bquests?\b", re.I)
_INTENT_KIND = {intent: kind for kind, intent in KIND_INTENTS.items()}


def keyword_intent(prompt: str) -> str:
    return next((intent for intent, rule in INTENT_RULES if rule.search(prompt)), "generation")


def keyword_kind(prompt: str, answer: str) -> str:
    if answer.lstrip().startswith("**Bug"):
        return Kind.debug_dialogue.value
    if _QUEST.search(prompt):
        return Kind.quest_implementation.value
    return _INTENT_KIND[keyword_intent(prompt)]


def term_category(text: str, candidates: Iterable[str]) -> str | None:
    """The candidate whose term groups ``text`` covers best, or None when no candidate has a term list."""
    best: tuple[float, int, str] | None = None
    for category in sorted(set(candidates)):
        groups = terms_for(category)
        if not groups:
            continue
        found = sum(g.found_in(text) for g in groups)
        key = (found / len(groups), found, category)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None

"""What the classifier predicts, and which labels in the store it learns from.

Three tasks:

- ``kind``: the sample's kind (``debug_dialogue``, ``asm_optimize``, ...). Learned from
  ``revisions.kind``; ``other`` means "nobody knew", so it is neither learned nor "given".
- ``category``: the bug category of a debugging dialogue. Learned from
  the category a file gave (``revisions.category``), else the one reviewers tagged in Argilla (the most
  common tag among submitted responses). Only debugging dialogues are predicted: other kinds' categories
  (Veran's ``register``, quest types) are topics, not bugs.
- ``intent``: the field's MoE router class (debugging / generation / optimization / explanation).
  Learned from the row's own ``intent`` column (``metadata.intent``) read with the importer's rules,
  else the intent the sample's kind implies.

Every task reads the prompt (the user turns before the answer), not the whole conversation: a router
sees only the question, a suggestion should not just repeat what the answer under review claims, and
cross-validated on the field data the prompt is as good for kind and intent and better for the bug
category (accuracy 0.94 against 0.86 with the answer included, which MiniLM's 256-token window
mostly fills with code).

A *given* label is one a file or a person stated for that very task; predictions never replace it,
they sit beside it (``classifier_predictions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from curation.importers.labels import kind_from_intent
from curation.store import StoreError
from curation.workspace import Workspace
from schemas.sample import Kind

PROMPT = "prompt"  # the text view every task embeds (stored with vectors and models)
INTENTS = ("debugging", "generation", "optimization", "explanation")
KIND_INTENTS: dict[str, str] = {
    Kind.debug_dialogue.value: "debugging",
    Kind.asm_generate.value: "generation",
    Kind.asm_optimize.value: "optimization",
    Kind.asm_explain.value: "explanation",
}


TASKS: dict[str, str] = {
    "kind": "the sample's kind",
    "category": "the bug category of a debugging dialogue",
    "intent": "the router class of the prompt",
}


@dataclass(frozen=True)
class SampleLabels:
    """The labels one sample carries, as the store has them."""

    id: str
    kind: str
    category: str | None
    intent: str | None  # the row's own intent column, canonical, or None
    reviewed_category: str | None  # the reviewers' most common category tag
    group: str  # its near-duplicate cluster's representative (or itself): kept in one CV fold

    def applies(self, task: str) -> bool:
        """Whether the task predicts anything for this sample."""
        return task != "category" or self.kind == Kind.debug_dialogue.value

    def given(self, task: str) -> str | None:
        """The label a file or a person gave for ``task`` - what a prediction must never replace."""
        if task == "kind":
            return None if self.kind == Kind.other.value else self.kind
        if task == "category":
            return (self.category or self.reviewed_category) if self.applies("category") else None
        return self.intent

    def training_label(self, task: str) -> str | None:
        """What the task learns from: the given label, or for ``intent`` the one the kind implies."""
        if task == "intent":
            return self.intent or KIND_INTENTS.get(self.kind)
        return self.given(task)


def canonical_intent(value: object) -> str | None:
    """``debug`` / ``Debugging`` / ``debug_dialogue`` -> ``debugging``, by the importer's own rules."""
    kind = kind_from_intent(value)
    return KIND_INTENTS.get(kind.value) if kind is not None else None


def parse_tasks(text: str | None) -> tuple[str, ...]:
    """``"kind,intent"`` -> ``("kind", "intent")``; empty means every task."""
    names = tuple(t.strip() for t in (text or "").split(",") if t.strip()) or tuple(TASKS)
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        raise StoreError(f"unknown classifier task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)}")
    return names


def load_labels(workspace: Workspace, where: str | None = None) -> list[SampleLabels]:
    """Every sample matching ``where`` (all by default) with its labels, in id order."""
    rows = workspace.classifier.labels(where)
    reviewed = reviewer_categories(workspace, [r[0] for r in rows])
    return [
        SampleLabels(rid, kind, category, canonical_intent(intent), reviewed.get(rid), group)
        for rid, kind, category, intent, group in rows
    ]


def reviewer_categories(workspace: Workspace, ids: Sequence[str]) -> dict[str, str]:
    """The category reviewers tagged most often on each revision (submitted responses; ties by name)."""
    return workspace.classifier.reviewer_categories(ids)

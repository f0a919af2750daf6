"""One Argilla dataset per sample kind, with the fields, questions and metadata an expert reviews by.

Fields: the prompt (every turn before the answer), the answer under review, the validator report.
Questions: decision (approve / reject), a corrected answer, the bug category, a 1-5 rating, notes.
Metadata: source type and name, validation score - for filtering in the UI. Suggestions pre-fill the
decision from the validators and the category from the proposer, with their agent and score.
"""

from __future__ import annotations

from typing import Any

WORKSPACE = "triforge"
DECISIONS = ("approve", "reject")
GUIDELINES = """Approve only diagnosis-first answers whose diagnosis matches the code and symptom and whose fix
assembles. If the answer is close, correct it in `corrected_answer` and approve: the correction becomes a
new revision. Tag the bug category when it is wrong or missing."""


def dataset_name(kind: str) -> str:
    return f"triforge-{kind.replace('_', '-')}"


def known_categories(store: Any) -> list[str]:
    from generators.quest_templates import QUEST_TYPES
    from generators.teacher.tasks import BUG_CATEGORIES

    stored = [
        r[0] for r in store.con.execute("SELECT DISTINCT category FROM revisions WHERE category IS NOT NULL").fetchall()
    ]
    return sorted({*BUG_CATEGORIES, *QUEST_TYPES, *stored})


def build_settings(categories: list[str], min_submitted: int) -> Any:
    import argilla as rg

    return rg.Settings(
        guidelines=GUIDELINES,
        fields=[
            rg.TextField(name="prompt", use_markdown=True),
            rg.TextField(name="answer", use_markdown=True),
            rg.TextField(name="validator_report", use_markdown=True, required=False),
        ],
        questions=[
            rg.LabelQuestion(name="decision", labels=list(DECISIONS)),
            rg.TextQuestion(name="corrected_answer", required=False, use_markdown=True),
            rg.LabelQuestion(name="category", labels=categories, required=False),
            rg.RatingQuestion(name="rating", values=[1, 2, 3, 4, 5], required=False),
            rg.TextQuestion(name="notes", required=False),
        ],
        metadata=[
            rg.TermsMetadataProperty(name="source_type"),
            rg.TermsMetadataProperty(name="source_name"),
            rg.FloatMetadataProperty(name="validation_score"),
        ],
        distribution=rg.TaskDistribution(min_submitted=min_submitted),
    )


def ensure_workspace(client: Any) -> Any:
    import argilla as rg

    return client.workspaces(WORKSPACE) or rg.Workspace(name=WORKSPACE, client=client).create()


def ensure_dataset(client: Any, kind: str, categories: list[str], min_submitted: int) -> Any:
    import argilla as rg

    workspace = ensure_workspace(client)
    existing = client.datasets(name=dataset_name(kind), workspace=workspace)
    if existing is not None:
        return existing
    settings = build_settings(categories, min_submitted)
    return rg.Dataset(name=dataset_name(kind), workspace=workspace, settings=settings, client=client).create()

"""One Argilla dataset per sample kind, with the fields, questions and metadata an expert reviews by.

Fields: the prompt (every turn before the answer), the answer under review, the validator report.
Questions: decision (approve / reject), a corrected answer, the bug category, a 1-5 rating, notes.
Metadata: the sample's category, source type and name, validation score, near-duplicate cluster size,
and the classifier's predicted kind, category and intent with their probabilities (``triforge
classify``) - for filtering in the UI. Vectors: the dedup embedding of each sample, for "find similar"
in the UI. Suggestions pre-fill the decision from the validators and the category from the proposer
(or, where no category was given, from the classifier), with their agent and score.

Datasets made by an older Triforge are upgraded in place (Argilla accepts new metadata properties and
vector fields on a published dataset), so records already under review keep their responses.
"""

from __future__ import annotations

from typing import Any

from curation.filters import PREDICTED_TASKS

WORKSPACE = "triforge"
VECTOR_FIELD = "embedding"
DECISIONS = ("approve", "reject")
GUIDELINES = """Approve only diagnosis-first answers whose diagnosis matches the code and symptom and whose fix
assembles. If the answer is close, correct it in `corrected_answer` and approve: the correction becomes a
new revision. Tag the bug category when it is wrong or missing."""


def dataset_name(kind: str) -> str:
    return f"triforge-{kind.replace('_', '-')}"


def known_categories(store: Any) -> list[str]:
    """Every category a reviewer may tag: the field's taxonomy (the terminology validator's categories
    and aliases), quest types, and any other category in the store. Argilla cannot add labels to a
    published question, so a dataset gets the whole list when it is made."""
    from curation.validators.terms import ALIASES, CATEGORY_TERMS
    from generators.quest_templates import QUEST_TYPES
    from generators.teacher.tasks import BUG_CATEGORIES

    stored = [
        r[0] for r in store.con.execute("SELECT DISTINCT category FROM revisions WHERE category IS NOT NULL").fetchall()
    ]
    return sorted({*CATEGORY_TERMS, *ALIASES, *BUG_CATEGORIES, *QUEST_TYPES, *stored})


def category_labels(dataset: Any) -> set[str]:
    """The labels the dataset's category question offers (fixed once the dataset is published)."""
    question = next((q for q in dataset.settings.questions if q.name == "category"), None)
    return set(question.labels) if question is not None else set()


def _metadata_properties() -> list[Any]:
    import argilla as rg

    return [
        rg.TermsMetadataProperty(name="source_type"),
        rg.TermsMetadataProperty(name="source_name"),
        rg.TermsMetadataProperty(name="sample_category"),
        rg.FloatMetadataProperty(name="validation_score"),
        rg.IntegerMetadataProperty(name="duplicate_cluster_size", min=1),
        *(
            prop
            for task in PREDICTED_TASKS
            for prop in (
                rg.TermsMetadataProperty(name=f"predicted_{task}"),
                rg.FloatMetadataProperty(name=f"predicted_{task}_score", min=0.0, max=1.0),
            )
        ),
    ]


def build_settings(categories: list[str], min_submitted: int, vector_dim: int | None = None) -> Any:
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
        metadata=_metadata_properties(),
        vectors=[rg.VectorField(name=VECTOR_FIELD, dimensions=vector_dim)] if vector_dim else [],
        distribution=rg.TaskDistribution(min_submitted=min_submitted),
    )


def ensure_workspace(client: Any) -> Any:
    import argilla as rg

    return client.workspaces(WORKSPACE) or rg.Workspace(name=WORKSPACE, client=client).create()


def ensure_dataset(
    client: Any, kind: str, categories: list[str], min_submitted: int, vector_dim: int | None = None
) -> Any:
    import argilla as rg

    workspace = ensure_workspace(client)
    existing = client.datasets(name=dataset_name(kind), workspace=workspace)
    if existing is None:
        settings = build_settings(categories, min_submitted, vector_dim)
        return rg.Dataset(name=dataset_name(kind), workspace=workspace, settings=settings, client=client).create()
    _upgrade(existing, vector_dim)
    return existing


def dataset_vector_dim(dataset: Any) -> int | None:
    """The dimension of the dataset's embedding field, or None when it has none."""
    field = next((v for v in dataset.settings.vectors if v.name == VECTOR_FIELD), None)
    return field.dimensions if field is not None else None


def _upgrade(dataset: Any, vector_dim: int | None) -> None:
    """Add the metadata properties and vector field a dataset made by an older Triforge lacks."""
    import argilla as rg

    have = {m.name for m in dataset.settings.metadata}
    missing = [m for m in _metadata_properties() if m.name not in have]
    for prop in missing:
        dataset.settings.metadata.add(prop)
    add_vectors = vector_dim is not None and dataset_vector_dim(dataset) is None
    if add_vectors:
        dataset.settings.vectors.add(rg.VectorField(name=VECTOR_FIELD, dimensions=vector_dim))
    if missing or add_vectors:
        dataset.update()

"""One Argilla dataset per sample kind, with the form, metadata and vectors an expert reviews by.

Fields and questions: the kind's form (``forms``: a quest's design and implementation apart, a
debugging question's code and symptom apart, ...; each with its own guidelines), always with decision
(approve / reject), a corrected answer, the category, a 1-5 rating, notes and a readable validator
report. Metadata: the sample's category, source type and name, validation score, near-duplicate cluster size,
its rank in the push's order (``review_priority``, see ``order``),
and the classifier's predicted kind, category and intent with their probabilities (``triforge
classify``) - for filtering in the UI. Vectors: the dedup embedding of each sample, for "find similar"
in the UI. Suggestions pre-fill the decision from the validators and the category from the proposer
(or, where no category was given, from the classifier), with their agent and score.

Datasets made by an older Triforge are upgraded in place where Argilla allows it (new metadata
properties, vector fields, guidelines), so records already under review keep their responses. Argilla
cannot add fields or questions to a published dataset, so a dataset holding an older form (the generic
prompt/answer form of form version 1) is left as it is - ``review pull`` still reads it, its responses
intact - and new records of that kind go to ``<name>-v<FORM_VERSION>`` with the current form.
"""

from __future__ import annotations

import warnings
from typing import Any

from curation.errors import Conflict
from curation.filters import PREDICTED_TASKS
from curation.workspace import Workspace
from generators.teacher.tasks import TEACHER_BUG_CASES
from labeling.argilla.forms import FORM_VERSION, form_for, matches, settings_for
from schemas.taxonomy import review_labels

WORKSPACE = "triforge"
VECTOR_FIELD = "embedding"
DECISIONS = ("approve", "reject")


def dataset_name(kind: str) -> str:
    """The dataset a kind's records go to on a fresh server (see ``ensure_dataset`` for older ones)."""
    return f"triforge-{kind.replace('_', '-')}"


def versioned_name(kind: str) -> str:
    return f"{dataset_name(kind)}-v{FORM_VERSION}"


def known_categories(workspace: Workspace) -> list[str]:
    """Every category a reviewer may tag: the field's taxonomy (the terminology validator's categories
    and aliases), quest types, and any other category in the store. Argilla cannot add labels to a
    published question, so a dataset gets the whole list when it is made."""
    # bug_injection v1's case names stay labels: older data carries them
    return review_labels([*TEACHER_BUG_CASES, *workspace.reviews.stored_categories()])


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
        rg.IntegerMetadataProperty(name="review_priority", min=1),  # 1 = the push's most useful record
        *(
            prop
            for task in PREDICTED_TASKS
            for prop in (
                rg.TermsMetadataProperty(name=f"predicted_{task}"),
                rg.FloatMetadataProperty(name=f"predicted_{task}_score", min=0.0, max=1.0),
            )
        ),
    ]


def build_settings(kind: str, categories: list[str], min_submitted: int, vector_dim: int | None = None) -> Any:
    import argilla as rg

    vectors = [rg.VectorField(name=VECTOR_FIELD, dimensions=vector_dim)] if vector_dim else []
    return settings_for(form_for(kind), categories, _metadata_properties(), vectors, min_submitted)


def ensure_workspace(client: Any) -> Any:
    import argilla as rg

    return client.workspaces(WORKSPACE) or rg.Workspace(name=WORKSPACE, client=client).create()


def ensure_dataset(
    client: Any, kind: str, categories: list[str], min_submitted: int, vector_dim: int | None = None
) -> Any:
    """The dataset with the kind's current form: ``triforge-<kind>``, or ``triforge-<kind>-v2`` where the
    first name holds a dataset with an older form. Made when missing; upgraded where Argilla allows."""
    import argilla as rg

    workspace = ensure_workspace(client)
    form = form_for(kind)
    names = (versioned_name(kind), dataset_name(kind))
    with warnings.catch_warnings():  # the SDK warns before answering None for a dataset not made yet
        warnings.simplefilter("ignore")
        found = {name: client.datasets(name=name, workspace=workspace) for name in names}
    for dataset in found.values():
        if dataset is not None and matches(dataset, form):
            _upgrade(dataset, vector_dim, form.guidelines)
            return dataset
    name = next((name for name in (dataset_name(kind), versioned_name(kind)) if found[name] is None), None)
    if name is None:
        raise Conflict(
            f"Argilla's datasets {dataset_name(kind)!r} and {versioned_name(kind)!r} both hold another form; "
            "rename or delete one of them in Argilla"
        )
    settings = build_settings(kind, categories, min_submitted, vector_dim)
    return rg.Dataset(name=name, workspace=workspace, settings=settings, client=client).create()


def dataset_vector_dim(dataset: Any) -> int | None:
    """The dimension of the dataset's embedding field, or None when it has none."""
    field = next((v for v in dataset.settings.vectors if v.name == VECTOR_FIELD), None)
    return field.dimensions if field is not None else None


def _upgrade(dataset: Any, vector_dim: int | None, guidelines: str | None = None) -> None:
    """Add the metadata properties and vector field a dataset made by an older Triforge lacks, and give
    it the form's current guidelines."""
    import argilla as rg

    have = {m.name for m in dataset.settings.metadata}
    missing = [m for m in _metadata_properties() if m.name not in have]
    for prop in missing:
        dataset.settings.metadata.add(prop)
    add_vectors = vector_dim is not None and dataset_vector_dim(dataset) is None
    if add_vectors:
        dataset.settings.vectors.add(rg.VectorField(name=VECTOR_FIELD, dimensions=vector_dim))
    new_guidelines = guidelines is not None and dataset.settings.guidelines != guidelines
    if new_guidelines:
        dataset.settings.guidelines = guidelines
    if missing or add_vectors or new_guidelines:
        dataset.update()

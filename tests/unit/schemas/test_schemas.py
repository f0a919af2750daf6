import pytest
from pydantic import ValidationError

from schemas import Kind, Message, Provenance, Role, SampleRevision, SourceType, canonical_json, sha256_hex
from schemas.snapshot import snapshot_id_for


def _rev(answer: str = "**Bug: x**", **kw) -> SampleRevision:
    return SampleRevision(
        kind=kw.pop("kind", Kind.debug_dialogue),
        messages=(Message(role=Role.user, content="why?"), Message(role=Role.assistant, content=answer)),
        provenance=kw.pop("provenance", Provenance(source_type=SourceType.import_, source_name="a")),
        **kw,
    )


def test_id_is_sha256_of_canonical_identity():
    rev = _rev()
    assert rev.id == sha256_hex(canonical_json(rev.identity()))
    assert len(rev.id) == 64


def test_id_ignores_provenance_and_metadata_but_not_content():
    a = _rev(metadata={"x": 1})
    b = _rev(provenance=Provenance(source_type=SourceType.teacher, source_name="other"), metadata={"y": 2})
    assert a.id == b.id
    assert _rev(answer="**Bug: y**").id != a.id
    assert _rev(category="stack_imbalance").id != a.id
    assert _rev(kind=Kind.other).id != a.id


def test_correction_with_parent_is_a_new_revision():
    parent = _rev()
    child = _rev(answer="**Bug: better**", parent_id=parent.id)
    assert child.id != parent.id and child.parent_id == parent.id


@pytest.mark.parametrize(
    "messages, fragment",
    [
        ([("assistant", "hi")], "user turn"),
        ([("user", "q")], "end with an assistant"),
        ([("user", "q"), ("system", "s"), ("assistant", "a")], "system turn"),
    ],
)
def test_conversation_shape_is_enforced(messages, fragment):
    with pytest.raises(ValidationError, match=fragment):
        SampleRevision(
            kind=Kind.other,
            messages=tuple(Message(role=r, content=c) for r, c in messages),
            provenance=Provenance(source_type=SourceType.import_, source_name="a"),
        )


def test_message_content_must_be_a_non_empty_string():
    with pytest.raises(ValidationError):
        Message(role=Role.user, content=5)
    with pytest.raises(ValidationError):
        Message(role=Role.user, content="")
    with pytest.raises(ValidationError):
        Message(role="robot", content="x")


def test_snapshot_id_is_order_independent():
    assert snapshot_id_for(["b", "a", "c"]) == snapshot_id_for(["c", "b", "a"])
    assert snapshot_id_for(["a", "b"]) != snapshot_id_for(["a", "c"])


def test_the_taxonomy_is_the_one_list_validators_generators_and_review_read():
    from curation.validators.terms import CATEGORY_TERMS, terms_for
    from generators.bug_injection import CATEGORIES
    from generators.quest_templates import QUEST_TYPES as DESIGNED
    from schemas.taxonomy import BUG_CATEGORIES, QUEST_TYPES, canonical_category, review_labels

    assert set(CATEGORY_TERMS) == set(BUG_CATEGORIES)
    assert set(CATEGORIES) <= set(BUG_CATEGORIES) and len(set(CATEGORIES)) == len(BUG_CATEGORIES)
    assert tuple(DESIGNED) == QUEST_TYPES
    assert canonical_category(" Width_Mismatch ") == "mode_mismatch" and canonical_category("") is None
    assert terms_for("dma") == CATEGORY_TERMS["dma_issues"]
    labels = review_labels(["my_new_bug"])
    assert {"dma_setup_error", "fetch", "my_new_bug", "carry_flag"} <= set(labels) and labels == sorted(labels)

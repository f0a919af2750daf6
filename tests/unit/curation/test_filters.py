import re

import pytest

from curation.filters import FilterError, compile_filter
from curation.importers import import_file


def test_compiles_to_parameters_never_to_sql_text():
    flt = compile_filter('category = "x\'); DROP TABLE revisions; --"')
    assert "DROP" not in flt.sql
    assert flt.params == ["x'); DROP TABLE revisions; --"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("kind = debug_dialog", "unknown kind 'debug_dialog'"),
        ("status = done", "unknown status"),
        ("colour = red", "unknown field 'colour'"),
        ("kind = other category = x", "join conditions with and/or"),
        ("(kind = other", "expected ')'"),
        ("kind", "expected an operator"),
        ("metadata.a-b = 1", "invalid metadata key"),
        ("kind not other", "expected 'in' after 'not'"),
    ],
)
def test_errors_say_what_and_where(text, message):
    with pytest.raises(FilterError, match=re.escape(message)):
        compile_filter(text)


def test_filters_select_the_right_samples(workspace, field_dir):
    import_file(workspace, field_dir / "farore_benchmark.jsonl")
    import_file(workspace, field_dir / "veran_snes_hardware.jsonl")
    assert workspace.samples.count() == 190
    assert workspace.samples.count("kind = debug_dialogue") == 100
    assert workspace.samples.count("category in (mode_mismatch, stack_imbalance)") == 10
    assert workspace.samples.count("not kind = debug_dialogue and category != register") == 36
    assert workspace.samples.count("metadata.needs_answer_check = true") == 100
    assert workspace.samples.count("metadata.difficulty >= 3") == 17
    assert workspace.samples.count("metadata.difficulty < 10") == 100  # numeric, not text, comparison
    assert workspace.samples.count("text ~ 'INIDISP'") == workspace.samples.count("text ~ 'inidisp'") > 0
    assert workspace.samples.count("category is null") == 0
    assert workspace.samples.count("kind = debug_dialogue or category = dma") == 105
    ids = [r["id"] for r in workspace.samples.list("category = dma", limit=2)]
    workspace.samples.set_status(ids, "approved", actor="tester")
    assert workspace.samples.count("status = approved") == 2
    assert workspace.samples.count("status = approved and category = dma") == 2


def test_split_holds_out_by_prompt_and_partitions_the_store(store, workspace, field_dir):
    """``split`` is the sha256 of a sample's user turns, mod 100: two sides of a threshold partition the
    store, and the figure is the one a reader can compute by hand from the prompt."""
    import hashlib

    import_file(workspace, field_dir / "farore_benchmark.jsonl")
    import_file(workspace, field_dir / "veran_snes_hardware.jsonl")
    total = workspace.samples.count()
    low, high = (
        workspace.samples.count("split < 30"),
        workspace.samples.count("split >= 30"),
    )
    assert low + high == total and 0 < low < high
    row = workspace.samples.list("split < 30", limit=1)[0]
    prompt = "\n".join(m.content for m in workspace.samples.get(row["id"]).revision.messages if m.role == "user")
    assert int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16) % 100 < 30

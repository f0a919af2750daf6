import re

import pytest

from curation.filters import FilterError, compile_filter
from curation.importers import import_file
from curation.workspace import Workspace


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


def test_filters_select_the_right_samples(store, field_dir):
    import_file(store, field_dir / "farore_benchmark.jsonl")
    import_file(store, field_dir / "veran_snes_hardware.jsonl")
    assert Workspace.of_store(store).samples.count() == 190
    assert Workspace.of_store(store).samples.count("kind = debug_dialogue") == 100
    assert Workspace.of_store(store).samples.count("category in (mode_mismatch, stack_imbalance)") == 10
    assert Workspace.of_store(store).samples.count("not kind = debug_dialogue and category != register") == 36
    assert Workspace.of_store(store).samples.count("metadata.needs_answer_check = true") == 100
    assert Workspace.of_store(store).samples.count("metadata.difficulty >= 3") == 17
    assert Workspace.of_store(store).samples.count("metadata.difficulty < 10") == 100  # numeric, not text, comparison
    assert (
        Workspace.of_store(store).samples.count("text ~ 'INIDISP'")
        == Workspace.of_store(store).samples.count("text ~ 'inidisp'")
        > 0
    )
    assert Workspace.of_store(store).samples.count("category is null") == 0
    assert Workspace.of_store(store).samples.count("kind = debug_dialogue or category = dma") == 105
    ids = [r["id"] for r in Workspace.of_store(store).samples.list("category = dma", limit=2)]
    Workspace.of_store(store).samples.set_status(ids, "approved", actor="tester")
    assert Workspace.of_store(store).samples.count("status = approved") == 2
    assert Workspace.of_store(store).samples.count("status = approved and category = dma") == 2


def test_split_holds_out_by_prompt_and_partitions_the_store(store, field_dir):
    """``split`` is the sha256 of a sample's user turns, mod 100: two sides of a threshold partition the
    store, and the figure is the one a reader can compute by hand from the prompt."""
    import hashlib

    import_file(store, field_dir / "farore_benchmark.jsonl")
    import_file(store, field_dir / "veran_snes_hardware.jsonl")
    total = Workspace.of_store(store).samples.count()
    low, high = (
        Workspace.of_store(store).samples.count("split < 30"),
        Workspace.of_store(store).samples.count("split >= 30"),
    )
    assert low + high == total and 0 < low < high
    row = Workspace.of_store(store).samples.list("split < 30", limit=1)[0]
    prompt = "\n".join(
        m.content for m in Workspace.of_store(store).samples.get(row["id"]).revision.messages if m.role == "user"
    )
    assert int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16) % 100 < 30

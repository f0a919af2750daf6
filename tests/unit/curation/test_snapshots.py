import pytest

from curation.importers import import_files
from curation.store import StoreError
from schemas.snapshot import snapshot_id_for


@pytest.fixture
def loaded(workspace, field_files):
    """The workspace with the field files imported."""
    import_files(workspace, field_files)
    return workspace


def test_snapshot_id_is_the_hash_of_its_sorted_members(loaded):
    snapshots = loaded.snapshots
    snap = snapshots.create("debug", "kind = debug_dialogue")
    ids = snapshots.member_ids(snap.id)
    assert snap.member_count == len(ids) == 128
    assert snap.id == snapshot_id_for(ids)
    assert snap.counts["kind"] == {"debug_dialogue": 128}
    assert snap.counts["status"] == {"draft": 100, "proposed": 28}
    assert snapshots.resolve(snap.id[:10]) == snap == snapshots.resolve("debug")
    assert snapshots.verify("debug") == []


def test_snapshots_never_change_when_samples_are_rejected_or_corrected(loaded):
    snapshots = loaded.snapshots
    snap = snapshots.create("ready", "status = proposed and kind = debug_dialogue")
    before = {r.id: r.answer for r in snapshots.members(snap.id)}
    victims = sorted(before)[:2]
    loaded.samples.set_status([victims[0]], "rejected", actor="expert")
    new_id = loaded.samples.correct(victims[1], actor="expert", answer="**Bug: corrected**\n\nBetter.")

    after = {r.id: r.answer for r in snapshots.members(snap.id)}
    assert after == before
    assert snapshots.verify("ready") == []
    assert new_id not in after
    # The next snapshot with the same filter sees the changes; the frozen one does not.
    later = snapshots.create("ready-2", "status = proposed and kind = debug_dialogue")
    diff = snapshots.diff("ready", "ready-2")
    assert set(diff.only_in_a) == set(victims)
    assert diff.only_in_b == [new_id]
    assert diff.in_both == snap.member_count - 2
    assert later.member_count == snap.member_count - 1


def test_correction_links_to_its_parent_and_supersedes_it(loaded):
    original = loaded.samples.list("kind = debug_dialogue and status = proposed", limit=1)[0]["id"]
    new_id = loaded.samples.correct(original, actor="expert", category="stack_imbalance")
    row = loaded.store.con.execute(
        "SELECT parent_id, category, status, source_type, source_name FROM samples WHERE id = ?", [new_id]
    ).fetchone()
    assert row == (original, "stack_imbalance", "proposed", "expert", "expert")
    assert loaded.store.con.execute("SELECT status FROM samples WHERE id = ?", [original]).fetchone() == ("superseded",)
    with pytest.raises(StoreError, match="changes nothing"):
        loaded.samples.correct(new_id, actor="expert", category="stack_imbalance")


def test_verify_detects_content_edited_behind_triforges_back(loaded):
    snapshots = loaded.snapshots
    snap = snapshots.create("all")
    victim = snapshots.member_ids(snap.id)[0]
    broken = snapshots.member_ids(snap.id)[1]
    loaded.store.con.execute(
        'UPDATE revisions SET messages = replace(CAST(messages AS VARCHAR), \'"content":"\', \'"content":"X\') '
        "WHERE id = ?",
        [victim],
    )
    loaded.store.con.execute(
        "UPDATE revisions SET messages = replace(CAST(messages AS VARCHAR), 'assistant', 'robot') WHERE id = ?",
        [broken],
    )
    problems = snapshots.verify("all")
    assert any(victim in p and "no longer matches its id" in p for p in problems)
    assert any(broken in p and "no longer parses" in p for p in problems)
    assert any("content or metadata changed" in p for p in problems)


def test_verify_detects_metadata_edits(loaded):
    snapshots = loaded.snapshots
    snap = snapshots.create("all")
    victim = snapshots.member_ids(snap.id)[0]
    loaded.store.con.execute("UPDATE revisions SET metadata = '{\"sneaky\": 1}' WHERE id = ?", [victim])
    assert snapshots.verify("all") == ["members' stored content or metadata changed since the snapshot was taken"]


def test_verify_detects_removed_members(loaded):
    snapshots = loaded.snapshots
    snap = snapshots.create("all")
    victim = snapshots.member_ids(snap.id)[0]
    loaded.store.con.execute("DELETE FROM revisions WHERE id = ?", [victim])
    assert any("missing from the store" in p for p in snapshots.verify("all"))


def test_names_are_never_reused_and_empty_selections_are_refused(loaded):
    snapshots = loaded.snapshots
    snapshots.create("a", "kind = asm_explain")
    with pytest.raises(StoreError, match="already exists"):
        snapshots.create("a", "kind = asm_optimize")
    with pytest.raises(StoreError, match="already holds exactly these samples"):
        snapshots.create("b", "kind = asm_explain")
    assert snapshots.create("a", "kind = asm_explain", exist_ok=True).name == "a"
    with pytest.raises(StoreError, match="matches no samples"):
        snapshots.create("c", "category = nothing_like_this")
    with pytest.raises(StoreError, match="no snapshot"):
        snapshots.resolve("zzz")


def test_parent_snapshot_is_recorded(loaded):
    snapshots = loaded.snapshots
    parent = snapshots.create("v1", "kind = asm_explain")
    child = snapshots.create("v2", "kind in (asm_explain, asm_optimize)", parent="v1")
    assert child.parent_id == parent.id

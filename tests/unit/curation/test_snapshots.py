import pytest

from curation.importers import import_files
from curation.samples import correct_sample, list_samples, set_status
from curation.snapshots import (
    create_snapshot,
    diff_snapshots,
    member_ids,
    members,
    resolve_snapshot,
    verify_snapshot,
)
from curation.store import StoreError
from schemas.snapshot import snapshot_id_for


@pytest.fixture
def loaded(store, field_files):
    import_files(store, field_files)
    return store


def test_snapshot_id_is_the_hash_of_its_sorted_members(loaded):
    snap = create_snapshot(loaded, "debug", "kind = debug_dialogue")
    ids = member_ids(loaded, snap.id)
    assert snap.member_count == len(ids) == 128
    assert snap.id == snapshot_id_for(ids)
    assert snap.counts["kind"] == {"debug_dialogue": 128}
    assert snap.counts["status"] == {"draft": 100, "proposed": 28}
    assert resolve_snapshot(loaded, snap.id[:10]) == snap == resolve_snapshot(loaded, "debug")
    assert verify_snapshot(loaded, "debug") == []


def test_snapshots_never_change_when_samples_are_rejected_or_corrected(loaded):
    snap = create_snapshot(loaded, "ready", "status = proposed and kind = debug_dialogue")
    before = {r.id: r.answer for r in members(loaded, snap.id)}
    victims = sorted(before)[:2]
    set_status(loaded, [victims[0]], "rejected", actor="expert")
    new_id = correct_sample(loaded, victims[1], actor="expert", answer="**Bug: corrected**\n\nBetter.")

    after = {r.id: r.answer for r in members(loaded, snap.id)}
    assert after == before
    assert verify_snapshot(loaded, "ready") == []
    assert new_id not in after
    # The next snapshot with the same filter sees the changes; the frozen one does not.
    later = create_snapshot(loaded, "ready-2", "status = proposed and kind = debug_dialogue")
    diff = diff_snapshots(loaded, "ready", "ready-2")
    assert set(diff.only_in_a) == set(victims)
    assert diff.only_in_b == [new_id]
    assert diff.in_both == snap.member_count - 2
    assert later.member_count == snap.member_count - 1


def test_correction_links_to_its_parent_and_supersedes_it(loaded):
    original = list_samples(loaded, "kind = debug_dialogue and status = proposed", limit=1)[0]["id"]
    new_id = correct_sample(loaded, original, actor="expert", category="stack_imbalance")
    row = loaded.con.execute(
        "SELECT parent_id, category, status, source_type, source_name FROM samples WHERE id = ?", [new_id]
    ).fetchone()
    assert row == (original, "stack_imbalance", "proposed", "expert", "expert")
    assert loaded.con.execute("SELECT status FROM samples WHERE id = ?", [original]).fetchone() == ("superseded",)
    with pytest.raises(StoreError, match="changes nothing"):
        correct_sample(loaded, new_id, actor="expert", category="stack_imbalance")


def test_verify_detects_content_edited_behind_triforges_back(loaded):
    snap = create_snapshot(loaded, "all")
    victim = member_ids(loaded, snap.id)[0]
    broken = member_ids(loaded, snap.id)[1]
    loaded.con.execute(
        'UPDATE revisions SET messages = replace(CAST(messages AS VARCHAR), \'"content":"\', \'"content":"X\') '
        "WHERE id = ?",
        [victim],
    )
    loaded.con.execute(
        "UPDATE revisions SET messages = replace(CAST(messages AS VARCHAR), 'assistant', 'robot') WHERE id = ?",
        [broken],
    )
    problems = verify_snapshot(loaded, "all")
    assert any(victim in p and "no longer matches its id" in p for p in problems)
    assert any(broken in p and "no longer parses" in p for p in problems)
    assert any("content or metadata changed" in p for p in problems)


def test_verify_detects_metadata_edits(loaded):
    snap = create_snapshot(loaded, "all")
    victim = member_ids(loaded, snap.id)[0]
    loaded.con.execute("UPDATE revisions SET metadata = '{\"sneaky\": 1}' WHERE id = ?", [victim])
    assert verify_snapshot(loaded, "all") == [
        "members' stored content or metadata changed since the snapshot was taken"
    ]


def test_verify_detects_removed_members(loaded):
    snap = create_snapshot(loaded, "all")
    victim = member_ids(loaded, snap.id)[0]
    loaded.con.execute("DELETE FROM revisions WHERE id = ?", [victim])
    assert any("missing from the store" in p for p in verify_snapshot(loaded, "all"))


def test_names_are_never_reused_and_empty_selections_are_refused(loaded):
    create_snapshot(loaded, "a", "kind = asm_explain")
    with pytest.raises(StoreError, match="already exists"):
        create_snapshot(loaded, "a", "kind = asm_optimize")
    with pytest.raises(StoreError, match="already holds exactly these samples"):
        create_snapshot(loaded, "b", "kind = asm_explain")
    assert create_snapshot(loaded, "a", "kind = asm_explain", exist_ok=True).name == "a"
    with pytest.raises(StoreError, match="matches no samples"):
        create_snapshot(loaded, "c", "category = nothing_like_this")
    with pytest.raises(StoreError, match="no snapshot"):
        resolve_snapshot(loaded, "zzz")


def test_parent_snapshot_is_recorded(loaded):
    parent = create_snapshot(loaded, "v1", "kind = asm_explain")
    child = create_snapshot(loaded, "v2", "kind in (asm_explain, asm_optimize)", parent="v1")
    assert child.parent_id == parent.id

import hashlib
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.export import EXPORT_FORMATS, SplitRatios, export_snapshot, parse_ratios, stratified_split
from curation.export.splits import SplitError
from curation.importers import import_files
from curation.store import StoreError


@pytest.fixture
def snapshot(workspace, field_files):
    import_files(workspace, field_files)
    return workspace.snapshots.create("all")


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("fmt", sorted(EXPORT_FORMATS))
def test_every_format_is_byte_identical_when_repeated(workspace, snapshot, tmp_path, fmt):
    first = export_snapshot(workspace, "all", fmt, tmp_path / "a", seed=7)
    export_snapshot(workspace, "all", fmt, tmp_path / "b", seed=7)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert sum(first.counts.values()) == snapshot.member_count
    export_snapshot(workspace, "all", fmt, tmp_path / "a", seed=7)  # re-export into the same dir
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_row_shapes(workspace, snapshot, tmp_path):
    shapes = {
        "chatml": {"id", "messages"},
        "alpaca": {"id", "instruction", "input", "output", "system"},
        "sharegpt": {"id", "conversations"},
        "mlx-chat": {"messages"},
        "mlx-completion": {"prompt", "completion"},
    }
    for fmt, keys in shapes.items():
        export_snapshot(workspace, "all", fmt, tmp_path / fmt)
        rows = _jsonl(tmp_path / fmt / "train.jsonl")
        assert all(set(r) == keys for r in rows), fmt
    sharegpt = _jsonl(tmp_path / "sharegpt" / "train.jsonl")
    assert {t["from"] for r in sharegpt for t in r["conversations"]} == {"system", "human", "gpt"}
    table = pq.read_table(export_snapshot(workspace, "all", "parquet", tmp_path / "pq").out_dir / "train.parquet")
    assert {"id", "messages", "category", "source_type", "metadata"} <= set(table.column_names)


def test_exports_load_with_hugging_face_datasets(workspace, snapshot, tmp_path):
    from datasets import load_dataset

    for fmt in ("chatml", "alpaca", "sharegpt", "mlx-chat", "mlx-completion"):
        result = export_snapshot(workspace, "all", fmt, tmp_path / fmt)
        files = {f["split"]: str(result.out_dir / f["path"]) for f in result.files}
        ds = load_dataset("json", data_files=files, cache_dir=str(tmp_path / "hf-cache"))
        assert {s: len(ds[s]) for s in ds} == result.counts
    result = export_snapshot(workspace, "all", "parquet", tmp_path / "pq")
    files = {f["split"]: str(result.out_dir / f["path"]) for f in result.files}
    ds = load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf-cache"))
    assert {s: len(ds[s]) for s in ds} == result.counts
    assert ds["train"][0]["messages"][-1]["role"] == "assistant"


def test_split_is_stratified_by_category_and_follows_the_ratios(store, workspace, snapshot, tmp_path):
    result = export_snapshot(workspace, "all", "chatml", tmp_path / "x", ratios=SplitRatios(0.8, 0.1, 0.1), seed=1)
    counts = result.counts
    assert abs(counts["valid"] - 0.1 * snapshot.member_count) <= 2
    assert abs(counts["test"] - 0.1 * snapshot.member_count) <= 2
    # Each category's share of the validation split tracks its share of the whole.
    cats = Counter()
    for split in ("train", "valid", "test"):
        for row in _jsonl(tmp_path / "x" / f"{split}.jsonl"):
            cats[split, snapshot_category(store, row["id"])] += 1
    register_total = sum(v for (s, c), v in cats.items() if c == "register")
    assert abs(cats["valid", "register"] - register_total * 0.1) <= 1


def snapshot_category(store, sample_id):
    return store.con.execute("SELECT coalesce(category, '') FROM revisions WHERE id = ?", [sample_id]).fetchone()[0]


def test_stratified_split_properties():
    items = [(f"id{i:03}", f"cat{i % 7}", f"prompt {i}") for i in range(200)]
    a = stratified_split(items, SplitRatios(), seed=3)
    assert a == stratified_split(list(reversed(items)), SplitRatios(), seed=3)  # input order is irrelevant
    assert a != stratified_split(items, SplitRatios(), seed=4)
    assert Counter(a.values()) == {"train": 160, "valid": 20, "test": 20}
    for c in range(7):
        in_cat = [a[i] for i, cat, _ in items if cat == f"cat{c}"]
        assert abs(in_cat.count("valid") - len(in_cat) * 0.1) <= 1.5


def test_samples_sharing_a_prompt_stay_in_one_split():
    items = [(f"id{i}", "c", f"prompt {i // 4}") for i in range(80)]
    splits = stratified_split(items, SplitRatios(), seed=0)
    for group in range(20):
        assert len({splits[f"id{i}"] for i in range(group * 4, group * 4 + 4)}) == 1


def test_card_describes_the_snapshot(workspace, snapshot, tmp_path):
    result = export_snapshot(workspace, "all", "alpaca", tmp_path / "x", seed=5)
    card = (tmp_path / "x" / "README.md").read_text()
    assert snapshot.id in card and "seed 5" in card and "0.8/0.1/0.1" in card
    assert "| register | 54 |" in card
    assert "teacher:openai/gpt-5.2" in card
    for f in result.files:
        assert f"| {f['split']} | {f['path']} | {f['rows']} | `{f['sha256']}` |" in card
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    assert manifest["snapshot_id"] == snapshot.id and manifest["files"] == result.files


def test_bad_options_are_refused(workspace, snapshot, tmp_path):
    with pytest.raises(StoreError, match="unknown export format"):
        export_snapshot(workspace, "all", "csv", tmp_path)
    for bad in ("0.8,0.1", "a,b,c", "0.5,0.1,0.1", "-0.1,0.6,0.5", "0,0.5,0.5"):
        with pytest.raises(SplitError):
            parse_ratios(bad)
    assert parse_ratios("0.9, 0.1, 0").as_tuple() == (0.9, 0.1, 0.0)


def test_zero_ratio_split_writes_no_file(workspace, snapshot, tmp_path):
    result = export_snapshot(workspace, "all", "chatml", tmp_path / "x", ratios=SplitRatios(0.9, 0.1, 0.0))
    assert set(result.counts) == {"train", "valid"}
    assert not (tmp_path / "x" / "test.jsonl").exists()

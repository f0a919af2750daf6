"""Write a snapshot to disk in one format: split files, a manifest and a dataset card.

Deterministic by construction: members are read in id order, splits depend only on ids, categories,
prompts and the seed, JSON is written with fixed key order, and nothing time-dependent is written.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curation.contamination import latest_check
from curation.export.card import render_card
from curation.export.formats import EXPORT_FORMATS
from curation.export.splits import SPLIT_NAMES, SplitRatios, stratified_split
from curation.store import StoreError
from curation.workspace import Workspace
from schemas.sample import SampleRevision

OWNED_FILES = (
    "README.md",
    "manifest.json",
    *(f"{split}{suffix}" for split in SPLIT_NAMES for suffix in (".jsonl", ".parquet")),
)


@dataclass
class ExportResult:
    out_dir: Path
    snapshot_id: str
    format: str
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {f["split"]: f["rows"] for f in self.files}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("kind", pa.string()),
            ("category", pa.string()),
            ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
            ("system", pa.string()),
            ("prompt", pa.string()),
            ("answer", pa.string()),
            ("source_type", pa.string()),
            ("source_name", pa.string()),
            ("parent_id", pa.string()),
            ("metadata", pa.string()),
        ]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, compression="zstd")


def export_snapshot(
    workspace: Workspace,
    snapshot_ref: str,
    format_name: str,
    out_dir: Path,
    *,
    ratios: SplitRatios | None = None,
    seed: int = 0,
) -> ExportResult:
    fmt = EXPORT_FORMATS.get(format_name)
    if fmt is None:
        raise StoreError(f"unknown export format {format_name!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    ratios = ratios or SplitRatios()
    snapshots = workspace.snapshots
    snapshot = snapshots.resolve(snapshot_ref)
    stored = snapshots.stored_members(snapshot.id)
    revisions: dict[str, SampleRevision] = dict(stored)
    assignment = stratified_split([(sid, rev.category, rev.prompt) for sid, rev in stored], ratios, seed)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in OWNED_FILES:  # a previous export may have had a split this one lacks
        (out_dir / name).unlink(missing_ok=True)

    by_split: dict[str, dict[str, Counter]] = {d: defaultdict(Counter) for d in ("kind", "category", "source")}
    result = ExportResult(out_dir=out_dir, snapshot_id=snapshot.id, format=fmt.name)
    for split in SPLIT_NAMES:
        ids = sorted(i for i, s in assignment.items() if s == split)
        if not ids:
            continue
        rows = [fmt.render(i, revisions[i]) for i in ids]
        path = out_dir / f"{split}{fmt.suffix}"
        if fmt.suffix == ".parquet":
            _write_parquet(path, rows)
        else:
            _write_jsonl(path, rows)
        for i in ids:
            rev = revisions[i]
            by_split["kind"][split][rev.kind.value] += 1
            by_split["category"][split][rev.category or "(none)"] += 1
            by_split["source"][split][f"{rev.provenance.source_type.value}:{rev.provenance.source_name}"] += 1
        result.files.append({"split": split, "path": path.name, "rows": len(rows), "sha256": _sha256(path)})

    contamination = latest_check(workspace, snapshot.id)
    manifest = {
        "snapshot_id": snapshot.id,
        "snapshot_name": snapshot.name,
        "content_hash": snapshot.content_hash,
        "format": fmt.name,
        "seed": seed,
        "split_ratios": list(ratios.as_tuple()),
        "files": result.files,
        "eval_contamination": (
            {k: v for k, v in contamination.items() if k != "checked_at"}
            | {"checked_at": str(contamination["checked_at"])[:19]}
            if contamination
            else None
        ),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    card = render_card(
        snapshot,
        format_name=fmt.name,
        format_description=fmt.description,
        seed=seed,
        ratios=ratios.as_tuple(),
        files=result.files,
        by_split=by_split,
        contamination=contamination,
    )
    (out_dir / "README.md").write_text(card, encoding="utf-8")
    return result

"""The dataset card (README.md) written beside every export.

It carries Hugging Face front matter (so ``load_dataset(DIR)`` finds the splits) and the facts an
ML engineer needs to trust the data: which snapshot, how many of what, from where, split how.
It holds no wall-clock time of the export, so repeated exports are byte-identical.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from schemas.snapshot import Snapshot


def _table(title: str, counts: dict[str, Counter], splits: list[str]) -> str:
    lines = [
        f"### {title}",
        "",
        "| " + " | ".join([title.lower(), "total", *splits]) + " |",
        "|" + "---|" * (len(splits) + 2),
    ]
    totals = Counter()
    for split in splits:
        totals.update(counts[split])
    for key in sorted(totals, key=lambda k: (-totals[k], k)):
        cells = [key, str(totals[key]), *(str(counts[s].get(key, 0)) for s in splits)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _contamination_line(snapshot: Snapshot, check: dict[str, Any] | None) -> str:
    if check is None:
        return f"not checked (run `triforge contamination {snapshot.name} --evals FILE...`)"
    return (
        f"{check['leaked_evals']} of {check['evals']} eval cases found in training prompts "
        f"(exact, or >= {check['threshold']:.0%} word 3-gram containment) - checked against "
        f"{', '.join(check['eval_files'])} on {str(check['checked_at'])[:19]}"
    )


def render_card(
    snapshot: Snapshot,
    *,
    format_name: str,
    format_description: str,
    seed: int,
    ratios: tuple[float, float, float],
    files: list[dict[str, Any]],
    by_split: dict[str, dict[str, Counter]],
    contamination: dict[str, Any] | None = None,
) -> str:
    splits = [f["split"] for f in files]
    front = ["---", f"pretty_name: {snapshot.name}", "configs:", "- config_name: default", "  data_files:"]
    for f in files:
        front += [f"  - split: {f['split']}", f"    path: {f['path']}"]
    front.append("---")
    total = sum(f["rows"] for f in files)
    body = [
        f"# {snapshot.name}",
        "",
        "Exported by Triforge from an immutable snapshot. Every row traces back to its source, "
        "its checks and its reviews through the snapshot id.",
        "",
        f"- snapshot id: `{snapshot.id}`",
        f"- content hash: `{snapshot.content_hash}`",
        f"- filter: `{snapshot.where}`",
        f"- frozen at: {snapshot.created_at.isoformat(timespec='seconds')}",
        f"- format: `{format_name}` ({format_description})",
        f"- samples: {total}",
        f"- split: train/valid/test = {ratios[0]:g}/{ratios[1]:g}/{ratios[2]:g}, seed {seed}, "
        "stratified by category, samples sharing a prompt kept in one split",
        f"- eval contamination: {_contamination_line(snapshot, contamination)}",
        "",
        "## Files",
        "",
        "| split | file | rows | sha256 |",
        "|---|---|---|---|",
        *[f"| {f['split']} | {f['path']} | {f['rows']} | `{f['sha256']}` |" for f in files],
        "",
        "## Contents",
        "",
        _table("Kind", by_split["kind"], splits),
        _table("Category", by_split["category"], splits),
        _table("Source", by_split["source"], splits),
    ]
    return "\n".join(front + body).rstrip() + "\n"

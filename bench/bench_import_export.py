"""Import and export throughput on synthetic rows (default 100k), printed - never asserted in tests.

Each figure comes with a baseline measured in the same run on the same file, so the ratio is
meaningful on a busy machine:
- import baseline: reading the file and ``json.loads`` of every line (the floor any importer pays);
- export baseline: ``json.dumps`` of the same number of chat rows to one file.

    python bench/bench_import_export.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.export import export_snapshot
from curation.importers import import_file
from curation.workspace import Workspace

CATEGORIES = ["mode_mismatch", "stack_imbalance", "register_clobber", "dma_setup", "missing_sep", "bank_boundary"]
OPS = ["LDA", "STA", "REP #$20", "SEP #$20", "PHA", "PLA", "PHX", "PLX", "JSL", "RTL", "MVN", "INX", "BNE"]


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    """Chat, alpaca, teacher and benchmark rows, roughly as the field mixes them."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        code = "\n".join(f"{rng.choice(OPS)} ${rng.randrange(0x10000):04X}" for _ in range(rng.randint(3, 12)))
        cat = rng.choice(CATEGORIES)
        answer = (
            f"**Bug: {cat.replace('_', ' ')}**\n\nCase {i}: the routine loses state.\n\n**Fix:**\n```asm\n{code}\n```"
        )
        shape = i % 4
        if shape == 0:
            rows.append(
                {
                    "messages": [
                        {"role": "user", "content": f"```asm\n{code}\n```\nWhy? #{i}"},
                        {"role": "assistant", "content": answer},
                    ],
                    "category": cat,
                }
            )
        elif shape == 1:
            rows.append(
                {"instruction": f"Optimize #{i}:\n{code}", "input": "", "output": code, "intent": "optimization"}
            )
        elif shape == 2:
            rows.append(
                {
                    "prompt": f"Write routine #{i}",
                    "response": answer,
                    "provider": "openai",
                    "model": "m",
                    "domain": "nayru",
                    "quality_score": 0.8,
                }
            )
        else:
            rows.append(
                {
                    "id": f"b{i}",
                    "category": cat,
                    "code": code,
                    "expected_output": code,
                    "metadata": {"issue": cat, "explanation": f"explanation {i}", "symptom": "crash"},
                }
            )
    return rows


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    n = args.rows

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = tmp / "synthetic.jsonl"
        with open(source, "w", encoding="utf-8") as handle:
            for row in synthetic_rows(n):
                handle.write(json.dumps(row) + "\n")
        size_mb = source.stat().st_size / 1e6

        def parse_only() -> int:
            with open(source, encoding="utf-8") as handle:
                return sum(1 for line in handle if json.loads(line))

        _, t_parse = timed(parse_only)
        workspace = Workspace(tmp)
        _ = workspace.store  # opened (and its schema made) before the clock starts, as the baseline is
        result, t_import = timed(lambda: import_file(workspace, source))
        assert result.new == n and not result.malformed, result
        again, t_reimport = timed(lambda: import_file(workspace, source))
        assert again.new == 0
        snap, t_snap = timed(lambda: workspace.snapshots.create("bench"))

        rows = [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a" * 200}]}] * n

        def dump_only() -> None:
            with open(tmp / "baseline.jsonl", "w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(json.dumps(row) + "\n")

        _, t_dump = timed(dump_only)
        _, t_chatml = timed(lambda: export_snapshot(workspace, snap.id, "chatml", tmp / "chatml"))
        _, t_parquet = timed(lambda: export_snapshot(workspace, snap.id, "parquet", tmp / "parquet"))
        workspace.close()

    print(f"rows: {n:,} ({size_mb:.1f} MB JSONL, 4 formats mixed)")
    print(f"{'step':<34}{'seconds':>9}{'rows/s':>12}{'vs baseline':>13}")
    lines = [
        ("baseline: read + json.loads", t_parse, None),
        ("import (validate, hash, write)", t_import, t_parse),
        ("re-import (all existing)", t_reimport, t_parse),
        ("snapshot create", t_snap, None),
        ("baseline: json.dumps chat rows", t_dump, None),
        ("export chatml (split, card)", t_chatml, t_dump),
        ("export parquet", t_parquet, t_dump),
    ]
    for name, seconds, baseline in lines:
        ratio = f"{seconds / baseline:.1f}x slower" if baseline else ""
        print(f"{name:<34}{seconds:>9.2f}{n / seconds:>12,.0f}{ratio:>13}")


if __name__ == "__main__":
    main()

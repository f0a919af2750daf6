"""Quest pairs against the real game: would an ALttP expert accept them?

Builds the ROM map from the shared US disassembly (a user's checkout, read at run time), then:

1. **Version 2 (baseline, from git)**: ``quest_templates@2`` with ``--old-n`` proposals (30) at
   ``--old-seed`` (3) - the pairs an expert rejected - validated with the map-aware checks; every pair
   is listed with the checks it fails and their reasons.
2. **Version 3**: ``--n`` proposals (500) validated; pass rate per validator, quest types present, and
   the non-duplicate share (proposals in no exact/MinHash pair at ``triforge dedup run``'s defaults).
3. **Cost**: ``validate`` of the field data plus the proposals, with the profile as it was (no map-aware
   validators: the baseline) and as it is now, each on a fresh copy of the same store, in the same run.

    python bench/bench_quests.py [--n 500] [--seed 5] [--old-n 30] [--old-seed 3]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import proposed_copy
from curation.dedup.run import DedupConfig, run_dedup
from curation.importers import import_files
from curation.machine import cpu_model
from curation.paths import FIELD_TRAINING_FILES, field_data_dir
from curation.rommap import build_rom_map
from curation.validators.runner import current_results, validate_samples
from curation.workspace import Workspace
from generators.base import get_generator
from schemas.sample import SampleRevision

REPO = Path(__file__).resolve().parents[1]
V2_COMMIT = "27c5285a8d4d4fd1e6cdeeb0d2600ea8f40a2382"  # the last commit with quest_templates@2
OLD_PROFILE = ("quest_structure", "asm_assembles", "anti_patterns", "length")
GAME_CHECKS = ("rom_patch", "sram_ownership", "alttp_conventions")

_V2_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from generators.base import get_generator
for r in get_generator("quest_templates").generate(int(sys.argv[2]), int(sys.argv[3])):
    print(json.dumps(r.model_dump(mode="json")))
"""


def version2(n: int, seed: int, work: Path) -> list[SampleRevision] | None:
    """quest_templates@2 from git, run in its own checkout (a worktree) by this interpreter."""
    tree = work / "v2"
    made = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), V2_COMMIT],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        print(f"version 2 not available from git ({made.stderr.strip()[:120]}): baseline skipped")
        return None
    try:
        out = subprocess.run(
            [sys.executable, "-c", _V2_SCRIPT, str(tree), str(n), str(seed)],
            capture_output=True,
            text=True,
            check=True,
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
        )
        return [SampleRevision.model_validate(json.loads(line)) for line in out.stdout.splitlines() if line]
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)


def failing_checks(ws: Workspace, ids: list[str]) -> dict[str, dict[str, list[str]]]:
    """Per revision: validator -> error codes, for the validators that failed."""
    out: dict[str, dict[str, list[str]]] = {}
    for rid in ids:
        for result in current_results(ws, rid):
            if not result.passed:
                codes = [i.code for i in result.issues if i.severity == "error"]
                out.setdefault(rid, {})[result.validator] = codes
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--old-n", type=int, default=30)
    parser.add_argument("--old-seed", type=int, default=3)
    args = parser.parse_args()
    field = field_data_dir()
    if field is None or not (field.parent / "usdasm").is_dir():
        sys.exit("field data and the usdasm checkout beside it are needed (TRIFORGE_FIELD_DATA)")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        rom_map = build_rom_map(field.parent / "usdasm")
        print(
            f"ROM map from the shared checkout in {time.perf_counter() - t0:.1f}s: {sum(rom_map.code):,} instructions"
        )
        (work / "base").mkdir()
        base = work / "base" / "triforge.duckdb"
        with Workspace(work / "base") as ws:
            import_files(ws, [field / name for name in FIELD_TRAINING_FILES])
            field_count = ws.samples.total()

        old = version2(args.old_n, args.old_seed, work)
        if old:
            ws = proposed_copy(base, work / "v2home", old, rom_map)
            validate_samples(ws, "source_name = 'quest_templates@2'")
            failing = failing_checks(ws, [r.id for r in old])
            rejected = sum(any(v in GAME_CHECKS for v in failing.get(r.id, {})) for r in old)
            print(f"\nquest_templates@2 (baseline), {len(old)} proposals at seed {args.old_seed}: "
                  f"{rejected} fail the map-aware checks")  # fmt: skip
            codes = collections.Counter(
                (v, c) for checks in failing.values() for v, cs in checks.items() if v in GAME_CHECKS for c in set(cs)
            )
            for (validator, code), count in sorted(codes.items(), key=lambda kv: -kv[1]):
                print(f"  {validator:<18} {code:<28} {count:>3} of {len(old)}")
            for i, revision in enumerate(old, 1):
                checks = failing.get(revision.id, {})
                named = "; ".join(f"{v}: {', '.join(sorted(set(c)))}" for v, c in checks.items() if v in GAME_CHECKS)
                print(f"  #{i:<3} {revision.category:<15} {named or 'passes'}")
            ws.close()

        proposals = get_generator("quest_templates").generate(args.n, args.seed, rom_map=rom_map)
        timings = {}
        for label, only in (("baseline profile (before the game checks)", OLD_PROFILE), ("current profile", None)):
            ws = proposed_copy(base, work / label.split()[0], proposals, rom_map)
            t0 = time.perf_counter()
            validate_samples(ws, only=only)
            timings[label] = time.perf_counter() - t0
            if only is None:
                ids = [r.id for r in proposals]
                run_dedup(ws, config=DedupConfig(methods=("exact", "minhash")))
                paired = {x for pair in ws.store.con.execute("SELECT a, b FROM dedup_pairs").fetchall() for x in pair}
                unique = sum(i not in paired for i in ids)
                failing = failing_checks(ws, ids)
                types = collections.Counter(r.category for r in proposals)
                print(f"\nquest_templates@3, {len(proposals)} proposals at seed {args.seed}:")
                for name in ("quest_structure", "asm_assembles", *GAME_CHECKS):
                    failed = sum(name in failing.get(i, {}) for i in ids)
                    print(f"  {name:<18} {len(ids) - failed:>4} passed {failed:>4} failed")
                print(f"  all required validators: {len(proposals) - len(failing)} of {len(proposals)}")
                print(f"  non-duplicate (no exact/MinHash pair): {unique / len(ids):.1%}")
                print(f"  quest types: {dict(types)}")
            ws.close()
        base_t, now_t = timings.values()
        print(
            f"\nvalidate, field ({field_count}) + {len(proposals)} quest proposals, fresh store each: "
            f"baseline profile {base_t:.1f}s, current profile {now_t:.1f}s ({now_t / base_t:.1f}x)"
        )
    print(f"total {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()

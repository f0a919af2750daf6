"""Code that is right, not only code that assembles: every bug template run in the 65816 interpreter.

For ``--n`` bug_injection proposals (seed ``--seed``), per template: how many carry a spec, how many of
their buggy codes fail it (the dialogue's mechanism is what the CPU does) and how many fixes pass it
(target 100% both). Then ``asm_flow``'s flags on the field data's answers and on the template fixes (its
false-positive rate: target <= 2%), and the cost of ``validate`` on the field data plus the proposals
with the profile before these checks (the baseline) and with them, each on a fresh store, in one run.

    python bench/bench_behaviour.py [--n 500] [--seed 7]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import proposed_copy
from curation.asm.behaviour import BehaviourSpec, run_spec
from curation.importers import import_files
from curation.machine import cpu_model
from curation.paths import FIELD_TRAINING_FILES, field_data_dir
from curation.validators.asar import Asar
from curation.validators.asm_flow import AsmFlow
from curation.validators.runner import validate_samples
from curation.workspace import Workspace
from generators.base import get_generator

BASELINE_PROFILE = ("diagnosis_first", "asm_assembles", "terminology", "anti_patterns", "length")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    field = field_data_dir()
    if field is None:
        sys.exit("field data not found: set TRIFORGE_FIELD_DATA")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores")
    started = time.perf_counter()
    proposals = get_generator("bug_injection").generate(args.n, args.seed)
    asar = Asar()
    rows: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0])  # proposals, spec, bug fails, fix ok
    t0 = time.perf_counter()
    instructions = 0
    for revision in proposals:
        row = rows[revision.metadata["template"]]
        row[0] += 1
        spec = revision.metadata.get("behaviour")
        if not spec:
            continue
        row[1] += 1
        spec = BehaviourSpec.from_json(spec)
        bug = run_spec(revision.metadata["buggy_code"], spec, asar)
        fix = run_spec(revision.metadata["fixed_code"], spec, asar)
        row[2] += bug.assembled and not bug.passed
        row[3] += fix.passed
        instructions += bug.instructions + fix.instructions
    ran = time.perf_counter() - t0
    print(f"\n{args.n} bug_injection proposals (seed {args.seed}), per template:")
    print(f"{'template':<34}{'n':>5}{'spec':>6}{'buggy fails':>13}{'fix passes':>12}")
    totals = [0, 0, 0, 0]
    for template, (n, spec, fails, passes) in sorted(rows.items()):
        totals = [a + b for a, b in zip(totals, (n, spec, fails, passes), strict=True)]
        print(f"{template:<34}{n:>5}{spec:>6}{fails / max(1, spec):>13.0%}{passes / max(1, spec):>12.0%}")
    n, spec, fails, passes = totals
    print(f"{'all':<34}{n:>5}{spec:>6}{fails / max(1, spec):>13.0%}{passes / max(1, spec):>12.0%}")
    print(f"specs run in {ran:.1f}s ({2 * spec} runs, {instructions:,} instructions interpreted)")

    flow = AsmFlow()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "field").mkdir()
        with Workspace(work / "field") as ws:
            import_files(ws, [field / name for name in FIELD_TRAINING_FILES])
            field_revisions = ws.samples.revisions()
        for label, revisions in (("field answers", field_revisions), ("template fixes", proposals)):
            judged = [flow.validate(r) for r in revisions]
            with_code = [r for r in judged if not any(i.code == "no_code" for i in r.issues)]
            flagged = sum(not r.passed for r in with_code)
            print(
                f"asm_flow on {label}: {flagged} of {len(with_code)} with code flagged ({flagged / len(with_code):.1%})"
            )

        timings = {}
        for label, only in (("baseline", BASELINE_PROFILE), ("current", None)):
            with proposed_copy(work / "field" / "triforge.duckdb", work / label, proposals) as ws:
                t0 = time.perf_counter()
                validate_samples(ws, only=only)
                timings[label] = time.perf_counter() - t0
    base, now = timings["baseline"], timings["current"]
    print(
        f"validate, field ({len(field_revisions)}) + {len(proposals)} proposals, fresh store each: baseline profile "
        f"{base:.1f}s, with asm_flow and asm_behaviour {now:.1f}s ({now / base:.1f}x)"
    )
    print(f"total {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()

"""Bulk assembly: one Asar process per snippet (baseline) against ``Asar.check_many`` batching.

Snippets are the field's code blocks plus seeded variants (new immediates and addresses, some with
planted errors), so the mix of clean code, excerpts needing stubs and real errors is the field's.
Both paths run in the same process on the same snippets; the script checks they give the same
verdicts and prints the speed ratio.

    python bench/bench_asm.py [--snippets 1000] [--batch 48]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.importers import detect_format
from curation.importers.formats import ImportContext
from curation.paths import field_data_dir
from curation.validators.asar import Asar
from curation.validators.asm_assembles import snippets_of
from triforge.cli.demo import training_files


def field_snippets() -> list[str]:
    field = field_data_dir()
    if field is None:
        sys.exit("field data not found: set TRIFORGE_FIELD_DATA")
    codes: set[str] = set()
    for path in training_files(field)[0]:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            rev = detect_format(row).to_revision(row, ImportContext(source_file=path.name), i)
            codes.update(s.block.code for s in snippets_of(rev))
    return sorted(codes)


def variants(base: list[str], n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = list(base)
    while len(out) < n:
        code = rng.choice(base)
        code = re.sub(r"\$([0-9A-F]{2})\b", lambda _: f"${rng.randrange(256):02X}", code)
        if rng.random() < 0.1:
            code += "\nJSR $01FFFF\n"  # a real error: JSR cannot take a long address
        out.append(code + f"\n; variant {len(out)}\n")
    return out[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snippets", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=48)
    args = parser.parse_args()
    snippets = variants(field_snippets(), args.snippets)

    single = Asar()
    start = time.perf_counter()
    alone = [single.check(s) for s in snippets]
    t_alone = time.perf_counter() - start

    batched = Asar(batch_size=args.batch)
    start = time.perf_counter()
    together = batched.check_many(snippets)
    t_batch = time.perf_counter() - start

    def verdict(o):
        return (o.ok, o.errors, sorted(o.stubbed_labels), sorted(o.stubbed_defines), o.refused)

    same = sum(verdict(a) == verdict(b) for a, b in zip(alone, together, strict=True))
    ok = sum(o.ok for o in together)
    print(f"snippets: {len(snippets)} ({ok} assemble, {len(snippets) - ok} do not), Asar {single.version}")
    print(f"{'path':<32}{'seconds':>9}{'snippets/s':>12}{'processes':>11}")
    print(f"{'baseline: one process each':<32}{t_alone:>9.2f}{len(snippets) / t_alone:>12.0f}{single.runs:>11}")
    print(f"{f'check_many (batch {args.batch})':<32}{t_batch:>9.2f}{len(snippets) / t_batch:>12.0f}{batched.runs:>11}")
    print(f"speed-up: {t_alone / t_batch:.1f}x; identical verdicts: {same}/{len(snippets)}")


if __name__ == "__main__":
    main()

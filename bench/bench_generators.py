"""Template proposers: how many of their proposals are worth an expert's time.

For each proposer (bug_injection, quest_templates) the field's five training files are imported
into a fresh store, N proposals are generated into it, validated (Asar batched, as ``triforge
generate`` does) and dedup-checked with the defaults of ``triforge dedup run`` (exact + word-bigram
MinHash at Jaccard 0.55). Printed per proposer:

- non-duplicate share: proposals in no duplicate pair at all - neither with another proposal nor
  with a field sample - and, for reference, the share ``triforge generate`` counts (no ``duplicate_of``);
- validation pass rate (every required validator of the kind's profile);
- categories covered (bug_injection: every bug category of ``curation/validators/terms.py``);
- the distinct word 2-/3-gram ratio (distinct n-grams over all n-grams of the normalised
  conversation text, as dedup sees it) of the proposals, against the same ratio of the field data
  measured in the same run, on the same number of samples (the ratio falls as a corpus grows).

Baseline: the previous generators (version 1, read from git at ``OLD_COMMIT``) through the same
dedup and n-gram figures in the same run; without git, their known figure (189 of 200 bug_injection
proposals were duplicates) is printed instead.

    python bench/bench_generators.py [--n 500] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.dedup.normalize import conversation_text
from curation.dedup.run import DedupConfig, run_dedup
from curation.importers import import_files
from curation.paths import FIELD_TRAINING_FILES, field_data_dir
from curation.resources.samples import PendingRevision
from curation.rommap import RomMap, build_rom_map
from curation.store import Store
from curation.validators.terms import CATEGORY_TERMS
from curation.workspace import Workspace
from generators.base import Generator, get_generator
from pipelines.generate import run_generator

REPO = Path(__file__).resolve().parents[1]
OLD_COMMIT = "5fa182e243d3e77ffb26e3fd6a64fe281d7ed558"  # the last commit with the version-1 generators


@dataclass
class Figures:
    label: str
    n: int
    unique: int  # in no duplicate pair
    kept: int  # no duplicate_of
    valid: int | None
    categories: int
    bigram: float
    trigram: float
    seconds: float


def distinct_ratio(texts: list[str], k: int) -> float:
    """Distinct word k-grams over all word k-grams of ``texts`` (each text on its own)."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        words = text.split()
        grams = [tuple(words[i : i + k]) for i in range(len(words) - k + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def texts_of(workspace: Workspace, ids: list[str] | None = None) -> list[str]:
    return [conversation_text(r) for r in workspace.samples.revisions(ids)]


def duplicate_figures(workspace: Workspace, ids: list[str]) -> tuple[int, int]:
    """(proposals in no duplicate pair, proposals without duplicate_of)."""
    paired = workspace.dedup_runs.paired_ids()
    marked = workspace.samples.verdicts(ids).duplicates
    return sum(i not in paired for i in ids), len(ids) - marked


def field_store(directory: Path, target: Path) -> int:
    with Workspace.of_store(Store(target)) as ws:
        import_files(ws, [directory / name for name in FIELD_TRAINING_FILES])
        return ws.samples.count()


def measure_current(
    name: str, base: Path, work: Path, n: int, seed: int, field_size: int, rom_map: RomMap | None = None
) -> Figures:
    """The current generator into a copy of the field store; quest proposals build on ``rom_map``."""
    store_file = work / f"{name}.duckdb"
    shutil.copyfile(base, store_file)
    start = time.perf_counter()
    with Workspace.of_store(Store(store_file)) as ws:
        workspace = ws
        if rom_map is not None:
            rom_map.save(workspace.paths.rom_map)
        summary = run_generator(workspace, name, n, seed)
        seconds = time.perf_counter() - start
        unique, kept = duplicate_figures(workspace, summary.ids)
        proposals = workspace.samples.revisions(summary.ids)
        categories = {r.category for r in proposals}
        texts = [conversation_text(r) for r in proposals]
    covered = len(categories & set(CATEGORY_TERMS)) if name == "bug_injection" else len(categories)
    sample = random.Random(0).sample(texts, min(field_size, len(texts)))
    return Figures(
        f"{name}@{get_generator(name).version}",
        summary.made,
        unique,
        kept,
        summary.valid,
        covered,
        distinct_ratio(sample, 2),
        distinct_ratio(sample, 3),
        seconds,
    )


def old_generator(module: str) -> Generator | None:
    """The version-1 generator from git, loaded without registering it (the registry keeps version 2)."""
    try:
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{OLD_COMMIT}:generators/{module}.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    namespace = types.ModuleType(f"old_{module}")
    import generators.base as base

    register = base.register
    base.register = lambda generator: generator  # type: ignore[assignment]
    sys.modules[namespace.__name__] = namespace  # dataclasses look their module up
    try:
        exec(compile(source, f"{OLD_COMMIT[:7]}:{module}.py", "exec"), namespace.__dict__)
    finally:
        base.register = register
        del sys.modules[namespace.__name__]
    classes = [v for v in vars(namespace).values() if isinstance(v, type) and issubclass(v, Generator)]
    return next(c for c in classes if c.__module__ == namespace.__name__)()


def measure_old(module: str, base: Path, work: Path, n: int, seed: int, field_size: int) -> Figures | None:
    generator = old_generator(module)
    if generator is None:
        return None
    store_file = work / f"old-{module}.duckdb"
    shutil.copyfile(base, store_file)
    start = time.perf_counter()
    revisions = generator.generate(n, seed)
    with Workspace.of_store(Store(store_file)) as ws:
        store = ws.store
        workspace = ws
        with store.transaction():
            ws.samples.write(
                [PendingRevision(r, "proposed", i) for i, r in enumerate(revisions, 1)],
                import_id=f"bench:old:{module}",
                actor="bench",
            )
        run_dedup(ws, config=DedupConfig(methods=("exact", "minhash")))
        ids = [r.id for r in revisions]
        unique, kept = duplicate_figures(workspace, ids)
        texts = texts_of(workspace, ids)
    categories = {r.category for r in revisions}
    covered = len(categories & set(CATEGORY_TERMS)) if module == "bug_injection" else len(categories)
    sample = random.Random(0).sample(texts, min(field_size, len(texts)))
    return Figures(
        f"{generator.name}@{generator.version} (old)",
        len(revisions),
        unique,
        kept,
        None,
        covered,
        distinct_ratio(sample, 2),
        distinct_ratio(sample, 3),
        time.perf_counter() - start,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="proposals per generator")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    directory = field_data_dir()
    if directory is None:
        sys.exit("field data not found: set TRIFORGE_FIELD_DATA")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = work / "field.duckdb"
        field_size = field_store(directory, base)
        with Workspace.of_store(Store(base, read_only=True)) as ws:
            field_texts = texts_of(ws)
        bug_categories = len(CATEGORY_TERMS)
        print(
            f"field: {field_size} samples from {len(FIELD_TRAINING_FILES)} training files; {args.n} proposals per "
            f"generator, seed {args.seed}; dedup exact + MinHash (word bigrams, Jaccard 0.55, 128 permutations)"
        )
        print(
            f"{'corpus':<30}{'made':>6}{'non-dup':>9}{'(kept)':>8}{'valid':>8}{'categories':>12}"
            f"{'2-gram':>8}{'3-gram':>8}{'seconds':>9}"
        )
        print(
            f"{'field data (baseline)':<30}{field_size:>6}{'':>9}{'':>8}{'':>8}{'':>12}"
            f"{distinct_ratio(field_texts, 2):>8.3f}{distinct_ratio(field_texts, 3):>8.3f}{'':>9}"
        )
        # quest_templates@3 builds on the ROM map: made here from the usdasm checkout beside the field data.
        checkout = directory.parent / "usdasm"
        rom_map = build_rom_map(checkout) if (checkout / "bank_00.asm").is_file() else None
        for module in ("bug_injection", "quest_templates"):
            rows = [measure_old(module, base, work, args.n, args.seed, field_size)]
            if module == "quest_templates" and rom_map is None:
                print(f"quest_templates: no usdasm checkout at {checkout}, current version skipped")
            else:
                rows.append(measure_current(module, base, work, args.n, args.seed, field_size, rom_map))
            for row in rows:
                if row is None:
                    if module == "bug_injection":
                        print(f"{'bug_injection@1 (old)':<30} known: 189 of 200 proposals were duplicates (git n/a)")
                    continue
                cats = f"{row.categories}/{bug_categories}" if module == "bug_injection" else str(row.categories)
                valid = f"{row.valid / row.n:.1%}" if row.valid is not None else "-"
                print(
                    f"{row.label:<30}{row.n:>6}{row.unique / row.n:>9.1%}{row.kept / row.n:>8.1%}{valid:>8}"
                    f"{cats:>12}{row.bigram:>8.3f}{row.trigram:>8.3f}{row.seconds:>9.1f}"
                )
    print(
        f"non-dup: in no exact/MinHash pair with another proposal or a field sample; (kept): no duplicate_of. "
        f"n-gram ratios on {field_size} samples per corpus. Total {time.perf_counter() - started:.0f}s."
    )


if __name__ == "__main__":
    main()

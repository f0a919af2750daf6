"""Dedup at scale: 100k synthetic samples with planted duplicates of known edit distance.

The corpus: originals built from sentences of the real field samples (60-120 words each),
reformatted exact copies (case, spacing), and near copies with 1-5 word substitutions. Each method
(and the exact+MinHash chain) runs in its own process on a copy of one store, so the peak memory
printed is that method's. Precision and recall are over pairs: a planted (copy, original) pair is
recalled when both land in one cluster; a reported (member, representative) pair is precise when
both come from the same original.

Baselines, measured in the same run on a subset: a naive datasketch loop (``MinHash.update`` per
shingle, then LSH insert and query one document at a time), and the embedding method (CPU-bound).

    python bench/bench_dedup.py [--samples 100000] [--subset 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def field_sentences() -> list[str]:
    """Sentences of real samples (the field data), so originals read like the domain's dialogues."""
    from triforge.cli.demo import find_field_data

    field = find_field_data()
    if field is None:
        sys.exit("field data not found: set TRIFORGE_FIELD_DATA")
    sentences: set[str] = set()
    for path in sorted(field.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for value in json.loads(line).values():
                items = value if isinstance(value, list) else [value]
                texts = [m.get("content") if isinstance(m, dict) else m for m in items]
                for text in texts:
                    if isinstance(text, str):
                        sentences.update(s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.split()) >= 6)
    return sorted(sentences)


def corpus(n: int, seed: int = 7) -> tuple[list[dict], list[int]]:
    """Rows and, for each, the index of the original it copies (its own index for originals).

    Originals join 5-8 random sentences of real samples (60-120 words); 20% of rows are planted
    copies of a random original: half reformatted (case, spacing: an exact duplicate after
    normalisation), half with 1-5 words replaced by other domain words (a near duplicate).
    """
    rng = random.Random(seed)
    pool = field_sentences()
    vocab = sorted({w for s in pool for w in s.split() if w.isalpha()})
    originals = int(n * 0.8)
    words: list[list[str]] = []
    group: list[int] = []
    rows = []
    for i in range(n):
        if i < originals:
            w = " ".join(rng.sample(pool, rng.randint(5, 8))).split()
            group.append(i)
        else:
            src = rng.randrange(originals)
            w = list(words[src])
            group.append(src)
            if i % 2:  # near copy: 1-5 substitutions
                for pos in rng.sample(range(len(w)), min(len(w), rng.randint(1, 5))):
                    w[pos] = rng.choice(vocab)
        words.append(w)
        question, answer = " ".join(w[:20]), " ".join(w[20:])
        if i >= originals and not i % 2:  # exact copy, reformatted
            question, answer = question.upper(), answer.replace(" ", "  ")
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": f"**Bug: case**\n{answer}"},
                ]
            }
        )
    return rows, group


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(store_file: Path, methods: str, home: Path) -> dict:
    os.environ["TRIFORGE_HOME"] = str(home)
    from curation.dedup.run import DedupConfig, run_dedup
    from curation.store import Store

    with Store(store_file) as store:
        start = time.perf_counter()
        run = run_dedup(store, config=DedupConfig(methods=tuple(methods.split(","))))
        seconds = time.perf_counter() - start
        line = dict(store.con.execute("SELECT revision_id, min(source_line) FROM provenance GROUP BY 1").fetchall())
    return {
        "seconds": seconds,
        "clusters": [[line[m] - 1 for m in c.members] for c in run.clusters],
        "reps": [line[c.representative] - 1 for c in run.clusters],
        "peak_rss_mb": peak_memory_mb(),
    }


def precision_recall(result: dict, group: list[int]) -> tuple[float, float]:
    cluster_of = {m: k for k, members in enumerate(result["clusters"]) for m in members}
    predicted = [
        (m, rep) for members, rep in zip(result["clusters"], result["reps"], strict=True) for m in members if m != rep
    ]
    correct = sum(group[m] == group[rep] for m, rep in predicted)
    # A planted copy identical to its original after content addressing is the same revision: not a pair.
    truth = [(i, group[i]) for i in range(len(group)) if group[i] != i]
    found = sum(i in cluster_of and cluster_of.get(i) == cluster_of.get(g) for i, g in truth)
    return (correct / len(predicted) if predicted else 1.0), (found / len(truth) if truth else 1.0)


def naive_datasketch(texts: list[str]) -> float:
    """docs/s of the textbook loop: MinHash per document, shingle by shingle, then LSH query+insert."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.7, num_perm=128)
    start = time.perf_counter()
    for i, text in enumerate(texts):
        w = text.split()
        m = MinHash(num_perm=128)
        for s in {" ".join(w[j : j + 3]) for j in range(max(1, len(w) - 2))}:
            m.update(s.encode())
        lsh.query(m)
        lsh.insert(str(i), m)
    return len(texts) / (time.perf_counter() - start)


def batched(texts: list[str]) -> float:
    from curation.dedup.index import MinHashIndex
    from curation.dedup.minhash import MinHasher, MinHashParams

    start = time.perf_counter()
    params = MinHashParams()
    signatures = MinHasher(params).signatures(texts)
    index = MinHashIndex(params)
    index.add([str(i) for i in range(len(texts))], signatures)
    for sig in signatures:
        index.neighbours(sig, params.threshold)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--subset", type=int, default=5_000)
    parser.add_argument("--worker", nargs=3, metavar=("STORE", "METHODS", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(Path(args.worker[0]), args.worker[1], Path(args.worker[2]))))
        return

    from curation.dedup.normalize import conversation_text_from_json
    from curation.importers import import_file
    from curation.store import Store

    rows, group = corpus(args.samples)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def build(n: int, name: str) -> Path:
            source = tmp / f"{name}.jsonl"
            source.write_text("".join(json.dumps(r) + "\n" for r in rows[:n]))
            with Store(tmp / f"{name}.duckdb") as store:
                import_file(store, source)
            return tmp / f"{name}.duckdb"

        start = time.perf_counter()
        base = build(args.samples, "base")
        subset = build(args.subset, "subset")
        print(
            f"corpus: {args.samples:,} samples, {len(set(group)):,} originals, "
            f"{args.samples - len(set(group)):,} planted copies (half reformatted exact, half 1-5 word edits); "
            f"imported in {time.perf_counter() - start:.1f}s, not counted below"
        )
        print(f"{'method':<16}{'samples':>9}{'seconds':>9}{'docs/s':>9}{'peak MB':>9}{'precision':>11}{'recall':>8}")
        for methods, source in (("exact", base), ("minhash", base), ("exact,minhash", base), ("embedding", subset)):
            n = args.samples if source == base else args.subset
            store_file = tmp / f"run-{methods.replace(',', '_')}.duckdb"
            shutil.copyfile(source, store_file)
            out = subprocess.run(
                [sys.executable, __file__, "--worker", str(store_file), methods, str(tmp / f"home-{methods}")],
                capture_output=True,
                text=True,
                check=True,
            )
            data = json.loads(out.stdout.strip().splitlines()[-1])
            sub_group = [g if g < n else i for i, g in enumerate(group[:n])]
            p, r = precision_recall(data, sub_group)
            print(
                f"{methods:<16}{n:>9,}{data['seconds']:>9.1f}{n / data['seconds']:>9,.0f}"
                f"{data['peak_rss_mb']:>9.0f}{p:>11.3f}{r:>8.3f}"
            )

        with Store(subset, read_only=True) as store:
            texts = [
                conversation_text_from_json(m)
                for (m,) in store.con.execute("SELECT messages FROM revisions ORDER BY id").fetchall()
            ]
        naive, ours = naive_datasketch(texts), batched(texts)
        print(
            f"hashing + LSH insert/query on {len(texts):,} docs: naive datasketch loop {naive:,.0f} docs/s, "
            f"batched numpy signatures + datasketch LSH {ours:,.0f} docs/s: {ours / naive:.0f}x faster"
        )


if __name__ == "__main__":
    main()

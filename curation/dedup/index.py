"""Persistent near-duplicate indexes, so new proposals are checked against the whole corpus
without rebuilding anything: a MinHash LSH (``curation.dedup.lsh``: datasketch's banding in numpy,
with every indexed signature, to verify candidates) and a faiss inner-product index over
normalised embeddings (cosine similarity).

Each index lives in its own folder under the workspace's ``indexes/``, named by its parameters, and
is saved atomically (written beside, then renamed), so a crash leaves the previous index intact.
A MinHash index is stored as its signatures and keys only; its band tables are rebuilt on load
(about 2 s per million rows), so folders written by earlier versions (which also held a pickled
datasketch LSH, now ignored) load unchanged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from curation.dedup.folders import replace_dir, scratch_beside
from curation.dedup.lsh import BandIndex, band_ranges
from curation.dedup.minhash import MinHashParams


class MinHashIndex:
    def __init__(self, params: MinHashParams) -> None:
        self.params = params
        self.bands = BandIndex(band_ranges(params.threshold, params.num_perm), params.num_perm)
        self.keys: list[str] = []
        self.position: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: str) -> bool:
        return key in self.position

    @property
    def signatures(self) -> np.ndarray:
        """Every indexed signature, row ``position[key]`` for ``key``."""
        return self.bands.signatures

    def add(self, keys: Sequence[str], signatures: np.ndarray) -> None:
        fresh = self._fresh(keys)
        if fresh:
            self._append([keys[i] for i in fresh], signatures[fresh])

    def _append(self, keys: list[str], signatures: np.ndarray) -> None:
        """Index ``keys``, which are known to be new and distinct."""
        self.bands.add(np.ascontiguousarray(signatures, dtype=np.uint32))
        start = len(self.keys)
        self.position.update((key, start + i) for i, key in enumerate(keys))
        self.keys.extend(keys)

    def _fresh(self, keys: Sequence[str]) -> list[int]:
        """Indexes of ``keys`` not indexed yet, each key once (its first occurrence)."""
        seen: set[str] = set()
        fresh = []
        for i, key in enumerate(keys):
            if key not in self.position and key not in seen:
                seen.add(key)
                fresh.append(i)
        return fresh

    def add_and_match(
        self, keys: Sequence[str], signatures: np.ndarray, threshold: float
    ) -> list[tuple[str, str, float]]:
        """Index new signatures; return every (new, other, similarity) pair at or above ``threshold``.

        New against already-indexed: every indexed row sharing a band with a new one (what
        datasketch's query returns), for the whole batch at once. New against new: the buckets of
        the batch itself (``BandIndex.pairs_within``). Every candidate is verified on its full
        signature.
        """
        new = self._fresh(keys)
        keys = [keys[i] for i in new]
        signatures = np.ascontiguousarray(signatures[new], dtype=np.uint32)
        pairs: list[tuple[str, str, float]] = []
        if len(self.keys) and len(keys):
            q, r, sims = self._verified(signatures, *self.bands.candidates(signatures), self.signatures, threshold)
            pairs += [(keys[i], self.keys[j], s) for i, j, s in zip(q.tolist(), r.tolist(), sims.tolist(), strict=True)]
        if len(keys) > 1:
            a, b = self.bands.pairs_within(signatures)
            a, b, sims = self._verified(signatures, a, b, signatures, threshold)
            pairs += [(keys[i], keys[j], s) for i, j, s in zip(a.tolist(), b.tolist(), sims.tolist(), strict=True)]
        self._append(keys, signatures)
        return pairs

    @staticmethod
    def _verified(left: np.ndarray, a: np.ndarray, b: np.ndarray, right: np.ndarray, threshold: float):
        """The candidate pairs (``left[a]``, ``right[b]``) whose estimated Jaccard is >= threshold."""
        keep_a, keep_b, keep_s = [], [], []
        for start in range(0, len(a), 200_000):  # bounds the gathered rows (200k x num_perm x 8 bytes)
            i, j = a[start : start + 200_000], b[start : start + 200_000]
            sims = np.count_nonzero(left[i] == right[j], axis=1) / left.shape[1]
            keep = sims >= threshold
            keep_a.append(i[keep])
            keep_b.append(j[keep])
            keep_s.append(sims[keep])
        if not keep_a:
            return a, b, np.zeros(0)
        return np.concatenate(keep_a), np.concatenate(keep_b), np.concatenate(keep_s)

    def neighbours(self, signature: np.ndarray, threshold: float) -> list[tuple[str, float]]:
        """Indexed keys whose estimated Jaccard similarity is at least ``threshold``.

        LSH gives candidates; each is verified against its stored signature, which removes the
        false positives banding lets through.
        """
        query = np.ascontiguousarray(signature, dtype=np.uint32)[None, :]
        q, r = self.bands.candidates(query)
        _, r, sims = self._verified(query, q, r, self.signatures, threshold)
        return [(self.keys[j], s) for j, s in zip(r.tolist(), sims.tolist(), strict=True)]

    def save(self, folder: Path) -> None:
        tmp = scratch_beside(folder)
        np.save(tmp / "signatures.npy", self.signatures)
        (tmp / "keys.json").write_text(json.dumps(self.keys))
        (tmp / "params.json").write_text(json.dumps(self.params.__dict__))
        replace_dir(tmp, folder)

    @classmethod
    def load(cls, folder: Path, params: MinHashParams) -> MinHashIndex:
        index = cls(params)
        if not (folder / "keys.json").exists():
            return index
        if json.loads((folder / "params.json").read_text()) != params.__dict__:
            raise ValueError(f"index at {folder} was built with other parameters")
        index.bands.add(np.load(folder / "signatures.npy"))
        index.keys = json.loads((folder / "keys.json").read_text())
        index.position = {k: i for i, k in enumerate(index.keys)}
        return index


EXACT_SEARCH_UP_TO = 100_000  # vectors; past this, an HNSW graph (a flat search is O(n) per query)


class EmbeddingIndex:
    """Cosine search (normalised vectors, inner product) with faiss: exact up to ``exact_up_to``
    vectors, then an HNSW graph over the same vectors.

    A flat index compares each query with every vector: at 100k vectors a first run's all-pairs
    search is ~10^12 multiply-adds, past a million it is hours. HNSW needs no training (it grows
    with each add, so incremental runs stay incremental) and still stores the vectors
    (``reconstruct`` keeps working); ``efSearch=128`` keeps its recall of true neighbours near 1.
    """

    def __init__(self, dim: int | None, exact_up_to: int = EXACT_SEARCH_UP_TO) -> None:
        """``dim=None`` is an empty index whose dimension is not known yet (nothing embedded)."""
        import faiss

        self.dim = dim
        self.exact_up_to = exact_up_to
        self.index = faiss.IndexFlatIP(dim) if dim else None
        self.keys: list[str] = []
        self.row: dict[str, int] = {}  # key -> its position in the faiss index

    @property
    def approximate(self) -> bool:
        import faiss

        return isinstance(self.index, faiss.IndexHNSWFlat)

    def _to_hnsw(self) -> None:
        """Move the vectors into an HNSW graph (inner product), once the flat index has grown too big."""
        import faiss

        vectors = self.index.reconstruct_n(0, self.index.ntotal)
        graph = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = 80
        graph.hnsw.efSearch = 128
        graph.add(vectors)
        self.index = graph

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: str) -> bool:
        return key in self.row

    def vector(self, key: str) -> np.ndarray:
        """The stored vector of ``key`` (flat and HNSW indexes both keep the vectors)."""
        return self.index.reconstruct(self.row[key])

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        fresh = [i for i, k in enumerate(keys) if k not in self.row]
        if not fresh:
            return
        if not self.approximate and self.index.ntotal + len(fresh) > self.exact_up_to:
            self._to_hnsw()
        self.index.add(np.ascontiguousarray(vectors[fresh], dtype=np.float32))
        for i in fresh:
            self.row[keys[i]] = len(self.keys)
            self.keys.append(keys[i])

    def neighbours(self, vectors: np.ndarray, threshold: float, k: int = 10) -> list[list[tuple[str, float]]]:
        if len(self.keys) == 0:
            return [[] for _ in range(len(vectors))]
        sims, ids = self.index.search(np.ascontiguousarray(vectors, dtype=np.float32), min(k, len(self.keys)))
        return [
            [(self.keys[j], float(s)) for s, j in zip(row_s, row_i, strict=True) if j >= 0 and s >= threshold]
            for row_s, row_i in zip(sims, ids, strict=True)
        ]

    def save(self, folder: Path) -> None:
        import faiss

        tmp = scratch_beside(folder)
        faiss.write_index(self.index, os.fspath(tmp / "vectors.faiss"))
        (tmp / "keys.json").write_text(json.dumps(self.keys))
        replace_dir(tmp, folder)

    @classmethod
    def load(cls, folder: Path) -> EmbeddingIndex:
        import faiss

        if not (folder / "keys.json").exists():
            return cls(None)
        stored = faiss.read_index(os.fspath(folder / "vectors.faiss"))
        index = cls(stored.d)
        index.index = stored
        if index.approximate:
            index.index.hnsw.efSearch = 128
        index.keys = json.loads((folder / "keys.json").read_text())
        index.row = {k: i for i, k in enumerate(index.keys)}
        return index

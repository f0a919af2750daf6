"""Persistent near-duplicate indexes, so new proposals are checked against the whole corpus
without rebuilding anything: a datasketch ``MinHashLSH`` (with every indexed signature, to verify
candidates) and a faiss inner-product index over normalised embeddings (cosine similarity).

Each index lives in its own folder under ``$TRIFORGE_HOME/indexes/``, named by its parameters, and
is saved atomically (written beside, then renamed), so a crash leaves the previous index intact.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from curation.dedup.minhash import MinHashParams


def _replace_dir(tmp: Path, final: Path) -> None:
    old = final.with_name(final.name + ".old")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


class _Signature:
    """What datasketch's LSH reads from a MinHash (hash values, length, scheme), without the cost of
    building a ``LeanMinHash`` per document. Our signatures are 32-bit affine permutations, which
    datasketch calls the "affine32" scheme, so mixing them with other sketches is refused by it."""

    __slots__ = ("hashvalues",)
    scheme = "affine32"

    def __init__(self, hashvalues: np.ndarray) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


class MinHashIndex:
    def __init__(self, params: MinHashParams) -> None:
        from datasketch import MinHashLSH

        self.params = params
        self.lsh = MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)
        self.keys: list[str] = []
        self.position: dict[str, int] = {}
        self.signatures = np.empty((0, params.num_perm), dtype=np.uint32)

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: str) -> bool:
        return key in self.position

    @staticmethod
    def _lean(signature: np.ndarray):
        from datasketch import LeanMinHash

        # Our signatures are 32-bit affine permutations, which is what datasketch calls "affine32".
        return LeanMinHash(seed=1, hashvalues=signature, scheme="affine32")

    def add(self, keys: Sequence[str], signatures: np.ndarray) -> None:
        fresh = [i for i, k in enumerate(keys) if k not in self.position]
        if not fresh:
            return
        keys = [keys[i] for i in fresh]
        signatures = np.ascontiguousarray(signatures[fresh])
        if self._plain_dict_storage():
            self._bulk_insert(keys, signatures)
        else:
            with self.lsh.insertion_session() as session:
                for key, sig in zip(keys, signatures, strict=True):
                    session.insert(key, self._lean(sig))
        start = len(self.keys)
        self.position.update((key, start + i) for i, key in enumerate(keys))
        self.keys.extend(keys)
        self.signatures = np.vstack([self.signatures, signatures])

    def _plain_dict_storage(self) -> bool:
        from datasketch.storage import DictListStorage, DictSetStorage

        lsh = self.lsh
        return (
            not lsh.prepickle
            and lsh.hashfunc is None
            and type(lsh.keys) is DictListStorage
            and all(type(t) is DictSetStorage for t in lsh.hashtables)
        )

    def _bulk_insert(self, keys: list[str], signatures: np.ndarray) -> None:
        """Fill datasketch's in-memory tables exactly as ``MinHashLSH.insert`` would, band by band.

        ``insert`` spends ~130 us per document in generic Python layers (13 s for 100k); the band
        keys are the same bytes (``_byteswap`` of each band slice), computed here for the whole
        batch at once. Only used for datasketch's default dict storage; ``tests/test_dedup.py``
        checks the tables equal those built by ``insert``.
        """
        from datasketch.minhash import _check_scheme_consistency

        lsh = self.lsh
        lsh._minhash_scheme = _check_scheme_consistency(
            getattr(lsh, "_minhash_scheme", None), _Signature(signatures[0])
        )
        swapped = signatures.byteswap()
        per_key: list[list[bytes]] = [[] for _ in keys]
        for (start, end), table in zip(lsh.hashranges, lsh.hashtables, strict=True):
            width = 4 * (end - start)
            raw = np.ascontiguousarray(swapped[:, start:end]).tobytes()
            buckets = table._dict
            for i, key in enumerate(keys):
                band_key = raw[i * width : (i + 1) * width]
                buckets[band_key].add(key)
                per_key[i].append(band_key)
        stored = lsh.keys._dict
        for key, band_keys in zip(keys, per_key, strict=True):
            stored[key].extend(band_keys)

    def add_and_match(
        self, keys: Sequence[str], signatures: np.ndarray, threshold: float
    ) -> list[tuple[str, str, float]]:
        """Index new signatures; return every (new, other, similarity) pair at or above ``threshold``.

        New against already-indexed: datasketch's LSH query, per new document. New against new:
        the same banding (the LSH's own band ranges) done for the whole batch in numpy, since a
        first run over 100k documents would otherwise pay a Python-level query per document.
        Every candidate is verified on its full signature.
        """
        new = [i for i, k in enumerate(keys) if k not in self.position]
        keys = [keys[i] for i in new]
        signatures = signatures[new]
        pairs: list[tuple[str, str, float]] = []
        if len(self.keys):
            for key, sig in zip(keys, signatures, strict=True):
                pairs += [(key, other, sim) for other, sim in self.neighbours(sig, threshold)]
        pairs += [(keys[i], keys[j], sim) for i, j, sim in self._pairs_within(signatures, threshold)]
        self.add(keys, signatures)
        return pairs

    def _pairs_within(self, signatures: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
        n = len(signatures)
        if n < 2:
            return []
        left: list[np.ndarray] = []
        right: list[np.ndarray] = []
        for start, end in self.lsh.hashranges:
            band = np.ascontiguousarray(signatures[:, start:end]).view(np.dtype((np.void, 4 * (end - start)))).ravel()
            _, inverse, counts = np.unique(band, return_inverse=True, return_counts=True)
            shared = np.flatnonzero(counts[inverse] > 1)
            if not len(shared):
                continue
            shared = shared[np.argsort(inverse[shared], kind="stable")]
            first = np.flatnonzero(np.r_[True, np.diff(inverse[shared]) != 0])
            size = np.diff(np.r_[first, len(shared)])
            # Every bucket links its members to its first member (vectorised); buckets of 3 to 64
            # also link all their other pairs, so a member is not lost when it resembles another
            # member more than the first. Larger buckets keep the star, to stay linear.
            left.append(np.repeat(shared[first], size - 1))
            right.append(np.delete(shared, first))
            for f, n in zip(first[(size > 2) & (size <= 64)], size[(size > 2) & (size <= 64)], strict=True):
                i, j = np.triu_indices(n - 1, k=1)
                left.append(shared[f + 1 + i])
                right.append(shared[f + 1 + j])
        if not left:
            return []
        candidates = np.unique(np.stack([np.concatenate(left), np.concatenate(right)], axis=1), axis=0)
        a, b = candidates[:, 0], candidates[:, 1]
        sims = np.count_nonzero(signatures[a] == signatures[b], axis=1) / signatures.shape[1]
        keep = sims >= threshold
        return list(zip(a[keep].tolist(), b[keep].tolist(), sims[keep].tolist(), strict=True))

    def neighbours(self, signature: np.ndarray, threshold: float) -> list[tuple[str, float]]:
        """Indexed keys whose estimated Jaccard similarity is at least ``threshold``.

        LSH gives candidates; each is verified against its stored signature, which removes the
        false positives banding lets through.
        """
        out = []
        for key in self.lsh.query(self._lean(signature)):
            sim = float(np.count_nonzero(self.signatures[self.position[key]] == signature)) / len(signature)
            if sim >= threshold:
                out.append((key, sim))
        return out

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        with open(tmp / "lsh.pkl", "wb") as handle:
            pickle.dump(self.lsh, handle, protocol=pickle.HIGHEST_PROTOCOL)
        np.save(tmp / "signatures.npy", self.signatures)
        (tmp / "keys.json").write_text(json.dumps(self.keys))
        (tmp / "params.json").write_text(json.dumps(self.params.__dict__))
        _replace_dir(tmp, folder)

    @classmethod
    def load(cls, folder: Path, params: MinHashParams) -> MinHashIndex:
        index = cls(params)
        if not (folder / "keys.json").exists():
            return index
        if json.loads((folder / "params.json").read_text()) != params.__dict__:
            raise ValueError(f"index at {folder} was built with other parameters")
        with open(folder / "lsh.pkl", "rb") as handle:
            index.lsh = pickle.load(handle)  # written by Triforge itself, under $TRIFORGE_HOME
        index.signatures = np.load(folder / "signatures.npy")
        index.keys = json.loads((folder / "keys.json").read_text())
        index.position = {k: i for i, k in enumerate(index.keys)}
        return index


class EmbeddingIndex:
    """Exact cosine search (normalised vectors, inner product) with faiss."""

    def __init__(self, dim: int | None) -> None:
        """``dim=None`` is an empty index whose dimension is not known yet (nothing embedded)."""
        import faiss

        self.dim = dim
        self.index = faiss.IndexFlatIP(dim) if dim else None
        self.keys: list[str] = []
        self.known: set[str] = set()

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: str) -> bool:
        return key in self.known

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        fresh = [i for i, k in enumerate(keys) if k not in self.known]
        if not fresh:
            return
        self.index.add(np.ascontiguousarray(vectors[fresh], dtype=np.float32))
        for i in fresh:
            self.keys.append(keys[i])
            self.known.add(keys[i])

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

        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        faiss.write_index(self.index, os.fspath(tmp / "vectors.faiss"))
        (tmp / "keys.json").write_text(json.dumps(self.keys))
        _replace_dir(tmp, folder)

    @classmethod
    def load(cls, folder: Path) -> EmbeddingIndex:
        import faiss

        if not (folder / "keys.json").exists():
            return cls(None)
        stored = faiss.read_index(os.fspath(folder / "vectors.faiss"))
        index = cls(stored.d)
        index.index = stored
        index.keys = json.loads((folder / "keys.json").read_text())
        index.known = set(index.keys)
        return index

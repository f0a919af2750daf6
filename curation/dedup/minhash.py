"""MinHash signatures computed for a whole batch at once with numpy.

datasketch's ``MinHash.update`` hashes one shingle at a time in Python (~160 documents/s measured
here); hashing is the hot path, so here a batch of documents is hashed in a few numpy passes:

1. tokens (words, or UTF-8 bytes) get a stable 32-bit id from crc32, cached per distinct token;
2. k-shingles of the whole batch are combined from those ids with a polynomial over shifted slices
   of one concatenated array, and windows that would straddle two documents are dropped;
3. each of ``num_perm`` permutations is ``a*h + b mod 2^32`` (a odd: a bijection) followed by an
   xorshift that mixes high bits down, applied to all shingles at once in uint32, laid out
   permutation-major so ``np.minimum.reduceat`` runs over contiguous memory (20x faster than
   row-major) and yields each document's minimum per permutation.

A document's minimum over its shingles is the same whether a shingle occurs once or twice, so no
per-document ``unique`` is needed. The signatures are ordinary MinHash signatures (the fraction of
equal slots estimates Jaccard similarity), stored as ``uint32`` and indexed with datasketch's
``MinHashLSH`` ("affine32" scheme).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_MAX_SHINGLES_PER_PASS = 400_000  # bounds memory: shingles x num_perm x 4 bytes per pass (~200 MB)
_POLY = np.uint64(0x100000001B3)  # FNV-64 prime; products wrap mod 2^64


@dataclass(frozen=True)
class MinHashParams:
    num_perm: int = 128
    shingle: str = "word"  # "word" or "char"
    size: int = 2
    threshold: float = 0.55
    seed: int = 1

    def __post_init__(self) -> None:
        if self.shingle not in ("word", "char"):
            raise ValueError("shingle must be 'word' or 'char'")
        if not 16 <= self.num_perm <= 1024:
            raise ValueError("num_perm must be between 16 and 1024")
        if not 1 <= self.size <= 32:
            raise ValueError("shingle size must be between 1 and 32")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("threshold must be between 0 and 1")

    @property
    def key(self) -> str:
        return f"{self.shingle}{self.size}-p{self.num_perm}-s{self.seed}"


class _TokenIds(dict):
    """token -> stable 32-bit id (crc32), computed once per distinct token; lookups stay in C."""

    def __missing__(self, token: str) -> int:
        value = self[token] = zlib.crc32(token.encode("utf-8"))
        return value


class MinHasher:
    def __init__(self, params: MinHashParams | None = None) -> None:
        self.params = params or MinHashParams()
        rng = np.random.default_rng(self.params.seed)
        n = self.params.num_perm
        self._a = rng.integers(1, 2**32, size=n, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
        self._b = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)
        self._token_ids = _TokenIds()

    def _tokens(self, text: str) -> np.ndarray:
        if self.params.shingle == "char":
            return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.uint64)
        tokens = text.split()
        return np.fromiter(map(self._token_ids.__getitem__, tokens), dtype=np.uint64, count=len(tokens))

    def _shingles(self, docs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """All shingle hashes of a batch (uint32) and each document's first index into them."""
        k = self.params.size
        powers = _POLY ** np.arange(k, dtype=np.uint64)
        tokens = np.concatenate(docs) if docs else np.zeros(0, dtype=np.uint64)
        n_windows = max(len(tokens) - k + 1, 0)
        combined = np.zeros(n_windows, dtype=np.uint64)
        for j in range(k):  # polynomial over shifted slices: every k-window of the batch at once
            combined += tokens[j : j + n_windows] * powers[j]
        parts, start = [], 0
        for doc in docs:
            if len(doc) >= k:  # the windows that stay inside this document
                parts.append(combined[start : start + len(doc) - k + 1])
            else:  # shorter than k: one shingle of all its tokens (an empty text hashes to 0)
                parts.append(np.array([np.sum(doc * powers[: len(doc)])], dtype=np.uint64))
            start += len(doc)
        counts = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        hashes = np.concatenate(parts)
        hashes ^= hashes >> np.uint64(29)
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
        return (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32), offsets

    def shingle_hashes(self, text: str) -> np.ndarray:
        """The distinct 32-bit shingle hashes of one text (for inspection and tests)."""
        hashes, _ = self._shingles([self._tokens(text)])
        return np.unique(hashes)

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """An ``(len(texts), num_perm)`` uint32 matrix of MinHash signatures."""
        out = np.empty((len(texts), self.params.num_perm), dtype=np.uint32)
        batch: list[np.ndarray] = []
        start = count = 0
        for i, text in enumerate(texts):
            tokens = self._tokens(text)
            batch.append(tokens)
            count += len(tokens)
            if count >= _MAX_SHINGLES_PER_PASS:
                self._reduce(batch, out[start : i + 1])
                batch, start, count = [], i + 1, 0
        if batch:
            self._reduce(batch, out[start:])
        return out

    def _reduce(self, docs: list[np.ndarray], target: np.ndarray) -> None:
        hashes, offsets = self._shingles(docs)
        permuted = self._a[:, None] * hashes[None, :] + self._b[:, None]  # wraps mod 2^32
        permuted ^= permuted >> np.uint32(15)
        target[:] = np.minimum.reduceat(permuted, offsets, axis=1).T


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)

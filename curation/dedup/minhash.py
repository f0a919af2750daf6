"""MinHash signatures computed for a whole batch at once with numpy.

datasketch's ``MinHash.update`` hashes one shingle at a time in Python (~560 documents/s measured
here); hashing is the hot path, so here a batch of documents is hashed in a few numpy passes:

1. tokens (words, or UTF-8 bytes) get a stable 32-bit id from crc32, cached per distinct token; the
   whole batch's tokens go through one ``np.fromiter``, not one call per document;
2. k-shingles of the whole batch are combined from those ids with a polynomial over shifted slices
   of one concatenated array, and windows that would straddle two documents are dropped;
3. each of ``num_perm`` permutations is ``a*h + b mod 2^32`` (a odd: a bijection) followed by an
   xorshift that mixes high bits down, laid out permutation-major so ``np.minimum.reduceat`` runs
   over contiguous memory and yields each document's minimum per permutation. This runs block by
   block over about 6,000 shingles at a time into buffers allocated once: a block stays in the CPU
   cache, where one pass over all shingles spent 95% of its time faulting in fresh pages (30x).

A document's minimum over its shingles is the same whether a shingle occurs once or twice, so no
per-document ``unique`` is needed. The signatures are ordinary MinHash signatures (the fraction of
equal slots estimates Jaccard similarity), stored as ``uint32``; ``tests/integration/test_dedup_scale.py``
checks they are bit-identical to the earlier one-pass version, so persisted indexes stay valid.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

_MAX_CHARS_PER_PASS = 2_000_000  # bounds the token arrays of one pass (a few tens of MB)
_BLOCK_ELEMENTS = 786_432  # shingles x num_perm per block: 3 MB of uint32, cache-sized
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


def concat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])`` without a Python loop."""
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    first = np.cumsum(counts) - counts
    return np.repeat(starts - first, counts) + np.arange(total, dtype=np.int64)


class MinHasher:
    def __init__(self, params: MinHashParams | None = None) -> None:
        self.params = params or MinHashParams()
        rng = np.random.default_rng(self.params.seed)
        n = self.params.num_perm
        self._a = rng.integers(1, 2**32, size=n, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
        self._b = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)
        self._token_ids = _TokenIds()
        self._block = max(64, _BLOCK_ELEMENTS // n)

    def _tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every token id of a batch, concatenated (uint64), and each text's token count."""
        if self.params.shingle == "char":
            encoded = [t.encode("utf-8") for t in texts]
            lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
            return np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64), lengths
        split = [t.split() for t in texts]
        lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        ids = map(self._token_ids.__getitem__, chain.from_iterable(split))
        return np.fromiter(ids, dtype=np.uint64, count=int(lengths.sum())), lengths

    def _shingles(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """All shingle hashes of a batch (uint32), grouped by text, and each text's first index."""
        k = self.params.size
        powers = _POLY ** np.arange(k, dtype=np.uint64)
        tokens, lengths = self._tokens(texts)
        starts = np.cumsum(lengths) - lengths
        n_windows = max(len(tokens) - k + 1, 0)
        combined = np.zeros(n_windows, dtype=np.uint64)
        for j in range(k):  # polynomial over shifted slices: every k-window of the batch at once
            combined += tokens[j : j + n_windows] * powers[j]
        windows = np.maximum(lengths - k + 1, 0)  # the windows that stay inside each text
        counts = np.maximum(windows, 1)  # a text shorter than k is one shingle of all its tokens
        offsets = np.cumsum(counts) - counts
        hashes = np.empty(int(counts.sum()), dtype=np.uint64)
        long = windows > 0
        hashes[concat_ranges(offsets[long], windows[long])] = combined[concat_ranges(starts[long], windows[long])]
        for d in np.flatnonzero(~long):  # rare: texts shorter than k (an empty text hashes to 0)
            doc = tokens[starts[d] : starts[d] + lengths[d]]
            hashes[offsets[d]] = np.sum(doc * powers[: len(doc)], dtype=np.uint64)
        hashes ^= hashes >> np.uint64(29)
        return (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32), offsets

    def shingle_hashes(self, text: str) -> np.ndarray:
        """The distinct 32-bit shingle hashes of one text (for inspection and tests)."""
        hashes, _ = self._shingles([text])
        return np.unique(hashes)

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """An ``(len(texts), num_perm)`` uint32 matrix of MinHash signatures."""
        out = np.empty((len(texts), self.params.num_perm), dtype=np.uint32)
        buffers = self._buffers(self._block)
        start = chars = 0
        for i, text in enumerate(texts):
            chars += len(text)
            if chars >= _MAX_CHARS_PER_PASS or i == len(texts) - 1:
                hashes, offsets = self._shingles(texts[start : i + 1])
                self._reduce(hashes, offsets, out[start : i + 1], buffers)
                start, chars = i + 1, 0
        return out

    def _buffers(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.params.num_perm
        return np.empty((n, width), dtype=np.uint32), np.empty((n, width), dtype=np.uint32)

    def _permuted_min(self, hashes: np.ndarray, offsets: np.ndarray, buffers: tuple[np.ndarray, np.ndarray]):
        """Per-document minimum of every permutation over one block of shingles (fits ``buffers``)."""
        m = len(hashes)
        work, tmp = buffers[0][:, :m], buffers[1][:, :m]
        np.multiply(self._a[:, None], hashes[None, :], out=work)  # wraps mod 2^32
        work += self._b[:, None]
        np.right_shift(work, np.uint32(15), out=tmp)
        work ^= tmp
        return np.minimum.reduceat(work, offsets, axis=1).T

    def _reduce(
        self, hashes: np.ndarray, offsets: np.ndarray, target: np.ndarray, buffers: tuple[np.ndarray, np.ndarray]
    ) -> None:
        block = self._block
        ends = np.append(offsets[1:], len(hashes))
        d, n_docs = 0, len(offsets)
        while d < n_docs:
            s0 = offsets[d]
            d1 = int(np.searchsorted(ends, s0 + block, side="right"))
            if d1 > d:  # whole documents d..d1-1 fit one block
                s1 = ends[d1 - 1]
                target[d:d1] = self._permuted_min(hashes[s0:s1], offsets[d:d1] - s0, buffers)
                d = d1
                continue
            # One document longer than a block: a running minimum over its pieces.
            best = None
            for p in range(s0, ends[d], block):
                piece = self._permuted_min(hashes[p : min(p + block, ends[d])], np.zeros(1, np.int64), buffers)[0]
                best = piece.copy() if best is None else np.minimum(best, piece)
            target[d] = best
            d += 1


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)

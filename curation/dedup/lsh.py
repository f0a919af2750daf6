"""MinHash LSH banding in numpy: datasketch's bands, without its per-key Python.

datasketch's ``MinHashLSH`` spends ~130 us per insert and ~30 us per query in generic Python
layers; at a million documents that is minutes, and filling its tables faster meant writing into
its private storage (tied to one datasketch version). Here the same banding runs on arrays:

- the band layout (``b`` bands of ``r`` rows) is datasketch's own, read from a ``MinHashLSH``
  built with the same threshold and ``num_perm`` (public attributes ``hashranges``), so the
  candidates are those datasketch would return;
- each band's ``r`` values get a 64-bit key (seeded per band); the keys of all bands are kept in
  one sorted array beside the row holding them, so a batch of queries is one ``searchsorted``;
- a key match is only a candidate once the band's values are compared exactly, so a 64-bit
  collision can never add a pair datasketch would not have proposed.

Single rows added online (one request at a time) go to a small dict and are merged into
the sorted arrays in bulk, so adding one row does not rewrite a million-row table.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from curation.dedup.minhash import concat_ranges

_OFFSET = np.uint64(0xCBF29CE484222325)
_PRIME = np.uint64(0x100000001B3)
_SALT = np.uint64(0x9E3779B97F4A7C15)  # each band starts from its own state, so one table holds all bands
SMALL_BUCKET = 64  # buckets up to this size pair all their members; larger ones keep the star (linear)
_TAIL_LIMIT = 50_000  # rows kept in the dict before they are merged into the sorted arrays
_QUERY_CHUNK = 4096  # query rows per pass: bounds the candidate arrays


@lru_cache(maxsize=32)
def band_ranges(threshold: float, num_perm: int) -> tuple[tuple[int, int], ...]:
    """datasketch's band layout for this threshold (its optimal b, r for equal FP/FN weights)."""
    from datasketch import MinHashLSH

    return tuple((int(s), int(e)) for s, e in MinHashLSH(threshold=threshold, num_perm=num_perm).hashranges)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(n, bands)`` 64-bit keys: FNV-1a over each band's 32-bit values, from a per-band start."""
    values = signatures[:, : bands * rows].reshape(len(signatures), bands, rows)
    start = _OFFSET ^ (np.arange(1, bands + 1, dtype=np.uint64) * _SALT)
    keys = np.repeat(start[None, :], len(signatures), axis=0)
    for column in range(rows):
        keys ^= values[:, :, column]
        keys *= _PRIME
    keys ^= keys >> np.uint64(31)
    return keys


class BandIndex:
    """Signatures plus one sorted table of (band key, row) over all bands; rows in insertion order."""

    def __init__(self, hashranges: tuple[tuple[int, int], ...], num_perm: int) -> None:
        self.bands, self.rows = len(hashranges), hashranges[0][1] - hashranges[0][0]
        if list(hashranges) != [(i * self.rows, (i + 1) * self.rows) for i in range(self.bands)]:
            raise ValueError("bands must be consecutive and of equal width (datasketch's layout)")
        self.hashranges = hashranges
        self._signatures = np.empty((0, num_perm), dtype=np.uint32)
        self._count = 0
        self._keys = np.zeros(0, dtype=np.uint64)
        self._rows = np.zeros(0, dtype=np.int64)
        self._tail: dict[int, list[int]] = {}
        self._tail_rows: list[int] = []

    def __len__(self) -> int:
        return self._count

    @property
    def signatures(self) -> np.ndarray:
        return self._signatures[: self._count]

    def add(self, signatures: np.ndarray) -> None:
        """Append rows (their numbers continue from ``len(self)``)."""
        n = len(signatures)
        if not n:
            return
        first = self._grow(signatures)
        if n <= 64 and len(self._tail_rows) + n <= _TAIL_LIMIT:
            for i, row_keys in enumerate(band_keys(signatures, self.bands, self.rows).tolist()):
                for key in row_keys:
                    self._tail.setdefault(key, []).append(first + i)
                self._tail_rows.append(first + i)
            return
        self._flush()
        self._merge(np.arange(first, first + n, dtype=np.int64))

    def _grow(self, signatures: np.ndarray) -> int:
        """Store rows in a buffer that doubles, so one-at-a-time adds do not copy everything each time."""
        first, n = self._count, len(signatures)
        if first + n > len(self._signatures):
            grown = np.empty((max(first + n, 2 * len(self._signatures), 1024), self._signatures.shape[1]), np.uint32)
            grown[:first] = self._signatures[:first]
            self._signatures = grown
        self._signatures[first : first + n] = signatures
        self._count = first + n
        return first

    def _merge(self, rows: np.ndarray) -> None:
        keys = band_keys(self._signatures[rows], self.bands, self.rows).ravel()
        rows = np.repeat(rows, self.bands)
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], rows[order]
        if not len(self._keys):
            self._keys, self._rows = keys, rows
            return
        at = np.searchsorted(self._keys, keys, side="right")
        self._keys = np.insert(self._keys, at, keys)
        self._rows = np.insert(self._rows, at, rows)

    def _flush(self) -> None:
        if self._tail_rows:
            rows = np.asarray(self._tail_rows, dtype=np.int64)
            self._tail, self._tail_rows = {}, []
            self._merge(rows)

    def candidates(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (query row, indexed row) pair sharing at least one band exactly, each pair once."""
        if len(queries) > 64:
            self._flush()
        qs, rs = [], []
        for start in range(0, len(queries), _QUERY_CHUNK):
            q, r = self._candidates(queries[start : start + _QUERY_CHUNK])
            qs.append(q + start)
            rs.append(r)
        if not qs:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(qs), np.concatenate(rs)

    def _candidates(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = np.int64(self._count)
        if not n:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        keys = band_keys(queries, self.bands, self.rows).ravel()  # entry q * bands + band
        lo = np.searchsorted(self._keys, keys, side="left")
        counts = np.searchsorted(self._keys, keys, side="right") - lo
        entry = np.repeat(np.arange(len(keys), dtype=np.int64), counts)
        row = self._rows[concat_ranges(lo, counts)]
        if self._tail:
            extra = [(e, r) for e, key in enumerate(keys.tolist()) for r in self._tail.get(key, ())]
            if extra:
                entry = np.concatenate([entry, np.array([e for e, _ in extra], np.int64)])
                row = np.concatenate([row, np.array([r for _, r in extra], np.int64)])
        q, band = entry // self.bands, entry % self.bands
        width = self.bands * self.rows
        mine = queries[:, :width].reshape(len(queries), self.bands, self.rows)
        theirs = self._signatures[:, :width].reshape(len(self._signatures), self.bands, self.rows)
        exact = np.all(mine[q, band] == theirs[row, band], axis=1)  # a key match is not enough
        codes = np.unique(q[exact] * n + row[exact])
        return codes // n, codes % n

    def pairs_within(self, signatures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs (i < j) among one batch's rows, bucket by bucket, for every band.

        Every bucket links its members to its first member (vectorised); buckets of 3 to 64 also
        link all their other pairs, so a member is not lost when it resembles another member more
        than the first (up to ``SMALL_BUCKET``). Larger buckets keep the star, to stay linear.
        """
        left: list[np.ndarray] = []
        right: list[np.ndarray] = []
        keys = band_keys(signatures, self.bands, self.rows)
        for band, (s, e) in enumerate(self.hashranges):
            shared, first, size = _buckets(keys[:, band], signatures[:, s:e])
            if not len(shared):
                continue
            left.append(np.repeat(shared[first], size - 1))
            right.append(np.delete(shared, first))
            small = (size > 2) & (size <= SMALL_BUCKET)
            for f, n in zip(first[small].tolist(), size[small].tolist(), strict=True):
                i, j = _other_pairs(n)
                left.append(shared[f + 1 + i])
                right.append(shared[f + 1 + j])
        if not left:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        a, b = np.concatenate(left), np.concatenate(right)
        codes = np.unique(np.minimum(a, b) * np.int64(len(signatures)) + np.maximum(a, b))
        return codes // len(signatures), codes % len(signatures)


@lru_cache(maxsize=64)
def _other_pairs(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The (i < j) pairs among a bucket's members after its first (``triu_indices``, computed once)."""
    return np.triu_indices(size - 1, k=1)


def _buckets(keys: np.ndarray, band: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows in buckets of 2+ (grouped, each bucket in row order), each bucket's first index, sizes."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    same = sorted_keys[1:] == sorted_keys[:-1]
    if not np.array_equal(band[order[1:][same]], band[order[:-1][same]]):
        # Two different bands share a 64-bit key (about never): group by the exact values instead.
        view = np.ascontiguousarray(band).view(np.dtype((np.void, band.itemsize * band.shape[1]))).ravel()
        inverse = np.unique(view, return_inverse=True)[1].ravel()
        order = np.argsort(inverse, kind="stable")
        same = inverse[order][1:] == inverse[order][:-1]
    starts = np.flatnonzero(np.r_[True, ~same])
    sizes = np.diff(np.r_[starts, len(order)])
    multi = sizes > 1
    starts, sizes = starts[multi], sizes[multi]
    shared = order[concat_ranges(starts, sizes)]
    first = np.cumsum(sizes) - sizes
    return shared, first, sizes

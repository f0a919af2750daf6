"""Dedup at corpus scale: the blocked signatures and numpy LSH against the versions they replace.

The reference signature function below is the one-pass implementation that earlier indexes were
built with, kept verbatim in spirit (one document at a time, one numpy pass over all shingles), so
any change in the fast path that would invalidate a persisted index fails here.
"""

import json
import pickle
import zlib

import numpy as np
import pytest

import curation.dedup.lsh as lsh
from curation.dedup.index import MinHashIndex
from curation.dedup.minhash import MinHasher, MinHashParams

_POLY = np.uint64(0x100000001B3)


def reference_signatures(params: MinHashParams, texts: list[str]) -> np.ndarray:
    """The original one-pass algorithm, one text at a time."""
    rng = np.random.default_rng(params.seed)
    a = rng.integers(1, 2**32, size=params.num_perm, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
    b = rng.integers(0, 2**32, size=params.num_perm, dtype=np.uint64).astype(np.uint32)
    powers = _POLY ** np.arange(params.size, dtype=np.uint64)
    out = []
    for text in texts:
        if params.shingle == "char":
            tokens = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.uint64)
        else:
            tokens = np.array([zlib.crc32(t.encode("utf-8")) for t in text.split()], dtype=np.uint64)
        k = params.size
        if len(tokens) >= k:
            hashes = np.zeros(len(tokens) - k + 1, dtype=np.uint64)
            for j in range(k):
                hashes += tokens[j : j + len(hashes)] * powers[j]
        else:
            hashes = np.array([np.sum(tokens * powers[: len(tokens)])], dtype=np.uint64)
        hashes ^= hashes >> np.uint64(29)
        hashes = (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        permuted = a[:, None] * hashes[None, :] + b[:, None]
        permuted ^= permuted >> np.uint32(15)
        out.append(permuted.min(axis=1))
    return np.stack(out)


def _texts(n: int = 400, seed: int = 5) -> list[str]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(500)] + ["LDA", "#$20", "REP", "é", "漢字"]
    texts = [" ".join(rng.choice(words, rng.integers(0, 120))) for _ in range(n)]
    texts += ["", "one", "two words", " ".join(["long"] + [f"x{i}" for i in range(30_000)])]  # > one block
    return texts


@pytest.mark.parametrize(
    "params",
    [
        MinHashParams(),
        MinHashParams(size=1),
        MinHashParams(size=3, num_perm=256, seed=9),
        MinHashParams(shingle="char", size=5, num_perm=64),
    ],
    ids=lambda p: p.key,
)
def test_blocked_signatures_are_bit_identical_to_the_one_pass_version(params):
    texts = _texts()
    assert np.array_equal(MinHasher(params).signatures(texts), reference_signatures(params, texts))


def test_signatures_do_not_depend_on_how_a_corpus_is_split_into_passes(monkeypatch):
    import curation.dedup.minhash as minhash

    texts = _texts(300)
    whole = MinHasher().signatures(texts)
    monkeypatch.setattr(minhash, "_MAX_CHARS_PER_PASS", 500)  # many small passes
    monkeypatch.setattr(minhash, "_BLOCK_ELEMENTS", 64 * 128)  # tiny blocks: documents span several
    assert np.array_equal(MinHasher().signatures(texts), whole)
    assert MinHasher().signatures([]).shape == (0, 128)


def _planted(n: int = 600, seed: int = 11) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    base = [" ".join(rng.choice([f"w{i}" for i in range(2000)], 60)) for _ in range(n)]
    copies = []
    for text in base[: n // 3]:
        words = text.split()
        for pos in rng.choice(len(words), rng.integers(1, 8), replace=False):
            words[pos] = "edit"
        copies.append(" ".join(words))
    texts = base + copies
    return texts, MinHasher().signatures(texts)


def _brute_force(sigs: np.ndarray, new: range, old: range, threshold: float, hashranges) -> set[tuple[int, int]]:
    """Every (new, old) pair sharing a band exactly and at or above the threshold, the slow way."""
    out = set()
    for i in new:
        for j in old:
            banded = any(np.array_equal(sigs[i, s:e], sigs[j, s:e]) for s, e in hashranges)
            if banded and np.count_nonzero(sigs[i] == sigs[j]) / sigs.shape[1] >= threshold:
                out.add((i, j))
    return out


def test_incremental_matching_finds_every_banded_pair_against_the_indexed_corpus():
    texts, sigs = _planted(300)
    params = MinHashParams()
    keys = [f"k{i:04d}" for i in range(len(texts))]
    index = MinHashIndex(params)
    index.add(keys[:250], sigs[:250])
    found = index.add_and_match(keys[250:], sigs[250:], params.threshold)
    hashranges = lsh.band_ranges(params.threshold, params.num_perm)
    expected = _brute_force(sigs, range(250, len(texts)), range(250), params.threshold, hashranges)
    got = {(int(a[1:]), int(b[1:])) for a, b, _ in found if int(b[1:]) < 250}
    assert got == expected and len(expected) >= 20
    for a, b, sim in found:
        assert sim == np.count_nonzero(sigs[int(a[1:])] == sigs[int(b[1:])]) / 128


def test_a_64_bit_key_collision_never_makes_a_candidate(monkeypatch):
    """With every band key forced equal, only rows whose band values match exactly are proposed."""
    texts, sigs = _planted(200)
    params = MinHashParams()
    honest = MinHashIndex(params)
    honest.add([str(i) for i in range(len(texts))], sigs)
    expected_q, expected_r = honest.bands.candidates(sigs[:80])
    expected_pairs = honest.bands.pairs_within(sigs)

    monkeypatch.setattr(lsh, "band_keys", lambda s, bands, rows: np.zeros((len(s), bands), dtype=np.uint64))
    colliding = MinHashIndex(params)
    colliding.add([str(i) for i in range(len(texts))], sigs)
    q, r = colliding.bands.candidates(sigs[:80])
    assert np.array_equal(q, expected_q) and np.array_equal(r, expected_r)
    a, b = colliding.bands.pairs_within(sigs)
    assert np.array_equal(a, expected_pairs[0]) and np.array_equal(b, expected_pairs[1])


def test_rows_added_one_at_a_time_are_found_before_and_after_they_are_merged(monkeypatch):
    texts, sigs = _planted(240)
    keys = [f"k{i}" for i in range(len(texts))]
    params = MinHashParams()
    bulk = MinHashIndex(params)
    bulk.add(keys, sigs)
    monkeypatch.setattr(lsh, "_TAIL_LIMIT", 100)  # so the online rows get merged part-way
    online = MinHashIndex(params)
    for key, sig in zip(keys, sigs, strict=True):
        online.add([key], sig[None, :])
    for sig in sigs[::7]:
        assert sorted(online.neighbours(sig, 0.5)) == sorted(bulk.neighbours(sig, 0.5))
    q, r = online.bands.candidates(sigs)  # a batch query merges what is left in the dict
    assert len(q) > len(sigs) and np.array_equal(np.c_[q, r], np.c_[bulk.bands.candidates(sigs)])
    assert len(online.signatures) == len(keys) and np.array_equal(online.signatures, sigs)


def test_an_index_folder_written_by_the_datasketch_version_still_loads(tmp_path):
    """Earlier versions saved a pickled datasketch LSH beside the signatures; the signatures suffice."""
    from datasketch import MinHashLSH

    texts, sigs = _planted(90)
    params = MinHashParams()
    keys = [f"k{i}" for i in range(len(texts))]
    folder = tmp_path / "minhash-old"
    folder.mkdir()
    (folder / "lsh.pkl").write_bytes(pickle.dumps(MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)))
    np.save(folder / "signatures.npy", sigs)
    (folder / "keys.json").write_text(json.dumps(keys))
    (folder / "params.json").write_text(json.dumps(params.__dict__))
    index = MinHashIndex.load(folder, params)
    assert len(index) == len(keys) and "k5" in index
    close = next(i for i in range(30) if np.mean(sigs[90 + i] == sigs[i]) >= 0.8)  # a planted copy of text i
    found = dict(index.neighbours(sigs[90 + close], 0.5))
    assert found[f"k{close}"] == np.count_nonzero(sigs[90 + close] == sigs[close]) / 128
    index.save(folder)
    assert not (folder / "lsh.pkl").exists()
    assert np.array_equal(MinHashIndex.load(folder, params).signatures, sigs)
    with pytest.raises(ValueError, match="other parameters"):
        MinHashIndex.load(folder, MinHashParams(num_perm=64))


def test_the_embedding_index_moves_to_hnsw_past_its_exact_limit_and_keeps_answering(tmp_path):
    from curation.dedup.index import EmbeddingIndex

    rng = np.random.default_rng(2)
    base = rng.normal(size=(300, 64)).astype(np.float32)
    near = base[:40] + 0.05 * rng.normal(size=(40, 64)).astype(np.float32)  # a planted neighbour each
    vectors = np.vstack([base, near])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    keys = [f"v{i}" for i in range(len(vectors))]
    exact = EmbeddingIndex(64, exact_up_to=10_000)
    exact.add(keys, vectors)
    graph = EmbeddingIndex(64, exact_up_to=200)
    graph.add(keys[:150], vectors[:150])
    assert not graph.approximate
    graph.add(keys[150:], vectors[150:])
    assert graph.approximate and len(graph) == len(keys)

    def found(index):  # keys and rounded similarities (flat search and HNSW sum in other orders)
        return [[(k, round(sim, 4)) for k, sim in row] for row in index.neighbours(vectors[300:], 0.9, k=3)]

    expected = found(exact)
    assert all(len(row) == 2 for row in expected)  # itself and its planted neighbour
    assert found(graph) == expected
    graph.save(tmp_path / "emb")
    loaded = EmbeddingIndex.load(tmp_path / "emb")
    assert loaded.approximate and found(loaded) == expected
    assert np.allclose(loaded.index.reconstruct(5), vectors[5])  # the review push reads vectors back

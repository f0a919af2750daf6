"""Exact + MinHash dedup on Ray Data, for corpora past one machine.

The local engine (``curation.dedup.run``) keeps persisted indexes and runs incrementally; this one
recomputes the whole corpus where the user points it (``--address``: a Ray cluster, or local mode)
and writes the pairs it finds back into the store, where the same clustering and representative
policy as a local run turns them into a recorded dedup run. Everything that decides a pair is
shared with the local engine, so the same corpus gives the same clusters:

* texts: :func:`~curation.dedup.normalize.conversation_text_from_json` with the config's options, in
  the workers, over a Parquet export of ``(id, messages)`` - the store itself never leaves the driver;
* exact: the SHA-256 of that text; every member of a group pairs with the group's smallest id;
* MinHash: :class:`~curation.dedup.minhash.MinHasher` (same permutations), datasketch's band layout
  for the threshold (:func:`~curation.dedup.lsh.band_ranges`), rows grouped by a band's exact values;
  in each bucket, members in id order pair with the first, buckets of 3 to 64 also pair all others
  (the local ``BandIndex.pairs_within`` rule), and a pair is kept when its estimated Jaccard is at
  least the threshold.

Ray is an optional extra (``pip install -e '.[distributed]'``) and imported only here.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.dedup.lsh import SMALL_BUCKET, band_ranges
from curation.dedup.minhash import MinHasher
from curation.dedup.normalize import conversation_text_from_json
from curation.dedup.run import DedupConfig, DedupRun, run_dedup
from curation.errors import Invalid
from curation.workspace import Workspace


@dataclass(frozen=True)
class EngineOptions:
    """Where the distributed engine runs: ``address`` of a Ray cluster (None: start one locally)."""

    address: str | None = None
    num_cpus: int | None = None  # local mode only
    object_store_mb: int = 256  # local mode only: Ray's default (30% of RAM) is too greedy beside DuckDB


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise Invalid("the ray engine needs Ray Data: pip install -e '.[distributed]'") from exc
    return ray


class _Connection:
    """``ray.init`` for the run's duration; a cluster we did not start is left running."""

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self.started = False

    def __enter__(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if self.options.address:
                kwargs["address"] = self.options.address
            else:
                kwargs["num_cpus"] = self.options.num_cpus
                kwargs["object_store_memory"] = self.options.object_store_mb * 1024 * 1024
            ray.init(**kwargs)
            self.started = True
        ray.data.DataContext.get_current().enable_progress_bars = False
        return ray

    def __exit__(self, *exc: object) -> None:
        if self.started:
            _ray().shutdown()


def _signature_batch(config: DedupConfig, bands: tuple[tuple[int, int], ...]):
    """A ``map_batches`` function: normalised text -> exact hash, and one row per (band, values)."""

    def fn(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [conversation_text_from_json(m, config.normalize) for m in batch["messages"]]
        signatures = MinHasher(config.minhash).signatures(texts)
        ids = np.asarray(batch["id"], dtype=object)
        n = len(ids)
        band_no = np.repeat(np.arange(len(bands)), n)
        keys = [f"{b}:{signatures[i, s:e].tobytes().hex()}" for b, (s, e) in enumerate(bands) for i in range(n)]
        return {
            "id": np.tile(ids, len(bands)),
            "band": band_no,
            "key": np.asarray(keys, dtype=object),
            "signature": np.asarray([signatures[i].tobytes() for i in range(n)] * len(bands), dtype=object),
            "exact": np.asarray(
                [hashlib.sha256(t.encode()).hexdigest() if b == 0 else "" for b in range(len(bands)) for t in texts],
                dtype=object,
            ),
        }

    return fn


def _bucket_pairs(threshold: float):
    """A ``map_groups`` function: one bucket's verified pairs (the local engine's bucket rule)."""

    def fn(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        order = np.argsort(np.asarray(group["id"], dtype=str), kind="stable")
        ids = [str(group["id"][i]) for i in order]
        sigs = np.stack([np.frombuffer(group["signature"][i], dtype=np.uint32) for i in order])
        left, right = _bucket_rule(len(ids))
        sims = np.count_nonzero(sigs[left] == sigs[right], axis=1) / sigs.shape[1] if len(left) else np.zeros(0)
        keep = sims >= threshold
        a = [ids[i] for i in left[keep]]
        b = [ids[j] for j in right[keep]]
        return {
            "a": np.asarray([min(x, y) for x, y in zip(a, b, strict=True)], dtype=object),
            "b": np.asarray([max(x, y) for x, y in zip(a, b, strict=True)], dtype=object),
            "similarity": sims[keep].astype(np.float64),
        }

    return fn


def _bucket_rule(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs among a bucket's members in order: all to the first; all pairs up to 64."""
    if size < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    left = [np.zeros(size - 1, np.int64)]
    right = [np.arange(1, size, dtype=np.int64)]
    if 2 < size <= SMALL_BUCKET:
        i, j = np.triu_indices(size - 1, k=1)
        left.append(i + 1)
        right.append(j + 1)
    return np.concatenate(left), np.concatenate(right)


def _exact_pairs(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    ids = sorted(str(i) for i in group["id"])
    return {
        "a": np.asarray([ids[0]] * (len(ids) - 1), dtype=object),
        "b": np.asarray(ids[1:], dtype=object),
        "similarity": np.ones(len(ids) - 1),
    }


def _rows(ds: Any) -> Iterator[tuple[str, str, float]]:
    for row in ds.iter_rows():
        yield str(row["a"]), str(row["b"]), float(row["similarity"])


Pairs = dict[str, list[tuple[str, str, float]]]


def find_pairs_ray(parquet: Path, config: DedupConfig, options: EngineOptions) -> Pairs:
    """Pairs per method (``exact``, ``minhash``) over the Parquet export ``(id, messages)``."""
    wanted = [m for m in config.methods if m != "embedding"]
    if len(wanted) != len(config.methods):
        raise Invalid("the ray engine runs exact and minhash; run embedding dedup with the local engine")
    bands = band_ranges(config.minhash.threshold, config.minhash.num_perm)
    out: dict[str, list[tuple[str, str, float]]] = {}
    with _Connection(options) as ray:
        rows = ray.data.read_parquet(str(parquet)).map_batches(
            _signature_batch(config, bands), batch_format="numpy", batch_size=2048
        )
        rows = rows.materialize()
        if "exact" in wanted:
            first_band = rows.filter(lambda r: r["band"] == 0)
            groups = first_band.groupby("exact").map_groups(_exact_pairs, batch_format="numpy")
            out["exact"] = sorted(set(_rows(groups)))
        if "minhash" in wanted:
            groups = rows.groupby("key").map_groups(_bucket_pairs(config.minhash.threshold), batch_format="numpy")
            best: dict[tuple[str, str], float] = {}
            for a, b, sim in _rows(groups):
                best[(a, b)] = sim  # the same pair from several bands has the same estimate
            out["minhash"] = sorted((a, b, s) for (a, b), s in best.items())
    return out


def export_corpus(workspace: Workspace, folder: Path) -> Path:
    """The whole corpus as Parquet ``(id, messages)``: what the workers read instead of the store."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "corpus.parquet"
    workspace.samples.export_messages(target)
    return target


def run_dedup_ray(
    workspace: Workspace,
    where: str | None = None,
    config: DedupConfig | None = None,
    options: EngineOptions | None = None,
) -> DedupRun:
    """A dedup run whose pairs Ray found over the whole corpus; clustered and recorded like a local run."""
    config = config or DedupConfig()
    with tempfile.TemporaryDirectory(prefix="triforge-ray-", dir=workspace.paths.home) as tmp:
        parquet = export_corpus(workspace, Path(tmp))
        pairs = find_pairs_ray(parquet, config, options or EngineOptions())
    return run_dedup(workspace, where, config, found_pairs=pairs)


__all__ = ["EngineOptions", "export_corpus", "find_pairs_ray", "run_dedup_ray"]

"""The embedding cascade: a static model proposes pairs, MiniLM decides them.

MiniLM runs six transformer layers over every token: ~40-60 documents/s on two cores without int8
instructions, the whole cost of semantic dedup. A static model (one vector per token, a mean per
document; ``static_embed.py``) embeds thousands a second but ranks too loosely to decide a pair (its
precision at its own threshold is a few percent). Together: the static model and its index propose, for
every new document, the neighbours above a recall-safe threshold; only documents in a proposed pair are
embedded by the decider (MiniLM, or its int8 export where the CPU makes that faster), and a pair is kept
when the decider's cosine clears the dedup threshold - the same test MiniLM alone applies.

What it costs is the static pass plus the decider on the candidate documents; what it finds is what the
decider finds among the candidates, so its recall is MiniLM's less the pairs the static stage missed
(``bench/bench_dedup.py`` measures both). Which decider runs is measured, not assumed: ``choose_decider``
times each backend on the same few texts once per machine and model, and keeps the fastest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from curation.machine import cpu_model

DECIDERS = ("minilm", "onnx-int8", "openvino-int8")  # the backends that can decide: MiniLM and its int8 exports
Embed = Callable[[list[str]], np.ndarray]


def candidate_pairs(neighbours: Iterable[tuple[str, list[tuple[str, float]]]]) -> set[tuple[str, str]]:
    """Each (document, its static neighbours above the threshold) as ordered pairs, itself left out."""
    pairs = set()
    for key, found in neighbours:
        for other, _ in found:
            if other != key:
                pairs.add((key, other) if key < other else (other, key))
    return pairs


def decide(
    pairs: Iterable[tuple[str, str]], vector: Callable[[str], np.ndarray], threshold: float
) -> list[tuple[str, str, float]]:
    """The candidate pairs whose decider vectors (unit length) have a cosine of at least ``threshold``."""
    kept = []
    for a, b in pairs:
        similarity = float(np.dot(vector(a), vector(b)))
        if similarity >= threshold:
            kept.append((a, b, min(similarity, 1.0)))
    return kept


def choose_decider(models: Path, embedders: dict[str, Embed], probe: Sequence[str]) -> str:
    """The fastest of ``embedders`` on ``probe`` on this CPU: measured once, then read from
    ``models/cascade-decider.json`` (keyed by CPU model), since int8 speed depends on the CPU's
    instructions (VNNI, AMX) and a machine of the same kind may lack them."""
    record = models / "cascade-decider.json"
    cpu = cpu_model()
    known = json.loads(record.read_text()) if record.is_file() else {}
    if cpu in known and known[cpu]["choice"] in embedders:
        return known[cpu]["choice"]
    timings: dict[str, float] = {}
    for name, embed in embedders.items():
        try:
            embed(list(probe[:8]))  # load and warm up: the first call pays for the model
            started = time.perf_counter()
            embed(list(probe))
            timings[name] = time.perf_counter() - started
        except Exception:  # a backend that cannot run here (no OpenVINO, say) is not a choice
            continue
    if not timings:
        raise RuntimeError("no decider backend runs here")
    choice = min(timings, key=timings.__getitem__)
    known[cpu] = {"choice": choice, "seconds": {k: round(v, 3) for k, v in timings.items()}, "texts": len(probe)}
    models.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(known, indent=2))
    return choice


__all__ = ["DECIDERS", "candidate_pairs", "choose_decider", "decide"]

"""The embedding cascade: a static model proposes pairs, MiniLM decides them.

MiniLM runs six transformer layers over every token: ~40-60 documents/s on two cores without int8
instructions, the whole cost of semantic dedup. A static model (one vector per token, a mean per
document) embeds thousands a second; tuned on the workspace's own texts (``tuned_static.py``) its cosines
track MiniLM's. Together, in three zones: the static model and its index propose, for every new document,
the neighbours above a recall-safe threshold; pairs above an accept threshold (where the decider agreed
on 99.5% of held-out pairs) are kept as they are; only documents in the pairs between are embedded by the
decider (MiniLM, or its int8 export where the CPU makes that faster), and such a pair is kept when the
decider's cosine clears the dedup threshold - the same test MiniLM alone applies. Both thresholds are read
from the tuned model's measured agreement for the dedup threshold in use; below ``tuned_static.MIN_TEXTS``
samples the distilled model proposes at 0.85 and the decider decides every pair.

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


def candidate_pairs(neighbours: Iterable[tuple[str, list[tuple[str, float]]]]) -> dict[tuple[str, str], float]:
    """Each (document, its static neighbours above the threshold) as ordered pairs with their static
    cosine, itself left out."""
    pairs: dict[tuple[str, str], float] = {}
    for key, found in neighbours:
        for other, similarity in found:
            if other != key:
                pairs[(key, other) if key < other else (other, key)] = similarity
    return pairs


def split_by_zone(
    candidates: dict[tuple[str, str], float], accept: float | None
) -> tuple[list[tuple[str, str, float]], list[tuple[str, str]]]:
    """(pairs the static stage accepts on its own: cosine at least ``accept``, pairs left to the decider).

    ``accept`` comes from the tuned model's agreement with the decider (``tuned_static.Agreement``): above
    it the decider agreed on 99.5% of held-out pairs, so asking it costs a MiniLM pass for nothing.
    None accepts nothing."""
    accepted, undecided = [], []
    for (a, b), similarity in sorted(candidates.items()):
        if accept is not None and similarity >= accept:
            accepted.append((a, b, min(similarity, 1.0)))
        else:
            undecided.append((a, b))
    return accepted, undecided


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


def describe(stages: dict) -> list[str]:
    """Lines on what the cascade's two stages did: the curator's check that the static model was fit
    and agrees with its decider, and how much of the corpus the decider had to read."""
    lines = []
    mode = stages.get("mode", "cascade")
    if stages.get("first_stage") == "tuned":
        agreement = stages["agreement"]
        recall = agreement["recall_at_propose"]
        teacher = stages.get("teacher") or stages["decider"]  # the model it was fit to (runs before it recorded none)
        lines.append(
            f"{mode}: static model tuned on {stages['fit_on']} samples{' (fit now)' if stages['fit_now'] else ''}; "
            f"held out, its cosines correlate with {teacher}'s at {agreement['cosine_correlation']:.2f}"
            + (f" and it proposes {recall:.0%} of that model's pairs" if recall is not None else "")
        )
    else:
        lines.append(f"{mode}: too few samples to tune a static model on; the distilled one proposes")
    accept = stages["accept"]
    lines.append(
        f"  proposed at {stages['propose']}, kept without asking at {accept if accept is not None else '(never)'}: "
        f"{stages['candidates']} candidate pairs, {stages['accepted_by_static']} kept by the static stage, "
        + (
            f"{stages['decided']} decided by {stages['decider']} ({stages['decider_embedded']} samples embedded)"
            if stages["decider"]
            else "no decider needed"
        )
    )
    return lines


__all__ = ["DECIDERS", "candidate_pairs", "choose_decider", "decide", "describe", "split_by_zone"]

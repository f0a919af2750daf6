"""The static model tuned on the workspace's own texts, so that its cosines track MiniLM's on this domain.

The distilled static model (``static_embed.py``) knows each token out of context: on this domain's
dialogues its cosines correlate with MiniLM's at about 0.35, so at any threshold safe for recall nearly
every pair is a candidate and the cascade saves nothing. Tuning fits the token vectors to a sentence
model's embeddings of in-domain texts (the idea of tokenlearn), here in one closed-form fit:

1. **The texts**: up to ``TRAIN_TEXTS`` of the workspace's samples, in a fixed hash order, embedded by the
   cascade's decider (MiniLM or its int8 export: the teacher). The cascade keeps those vectors to decide
   pairs with, so the teacher's work is not wasted.
2. **A linear map** (ridge) from the distilled vectors' space into the teacher's, so every vocabulary
   token, seen in the texts or not, starts with a vector in the teacher's space.
3. **A correction** to the vectors of the tokens the texts use: kernel ridge regression of each text's
   residual (teacher vector minus its mean token vector) on its bag of tokens, solved in the n x n dual
   (n texts rather than 30k tokens): a second or two.

Documents are cut where MiniLM cuts them (its ``max_seq_length``), since the teacher never sees the rest.

**Agreement.** A fifth of the texts is held out of a first fit. The static and teacher cosines of every
pair of a held-out text with another text are kept (``agreement.npz``); ``Agreement`` reads from them,
for any dedup threshold, how the static model ranks against the teacher: the cosine correlation, the
static cosine below which only 1% of the teacher's pairs fall (where the cascade proposes) and the static
cosine above which the teacher agrees on 99.5% of pairs (where it accepts without asking). The model kept
is then fit again on all the texts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.dedup.folders import replace_dir, scratch_beside
from curation.dedup.static_embed import StaticModel

VERSION = 1  # bump when the recipe changes, so tuned models are fit again
TRAIN_TEXTS = 2000  # texts the teacher embeds for a fit: ~20 s with int8 on VNNI, ~50 s on AVX2 alone
MIN_TEXTS = 200  # below this a fit says nothing: the cascade uses the distilled model and decides every pair
HELD_OUT = 0.2
# Ridges, chosen on held-out correlation with MiniLM on two corpora (the 327 field texts, 2,500 bench texts):
# the map's 256 x 384 weights overfit a few hundred texts without a strong ridge (held-out correlation 0.21
# at 1e-3 against the distilled model's 0.64; 0.80 at 10), and cost nothing on thousands (0.724 -> 0.726).
RIDGE_MAP = 10.0
RIDGE_TOKENS = 1e-2
REFIT_GROWTH = 2.0  # fit again once the corpus has grown to this many times the size it was fit on
KEPT_PAIRS_ABOVE = 0.5  # held-out pairs below this cosine on both scales never matter to a threshold
PROPOSE_RECALL = 0.95
ACCEPT_PRECISION = 0.995
MAX_MARGIN = 0.15  # the proposal threshold never goes further than this below the dedup threshold


def mean_bags(model: StaticModel, texts: Sequence[str], truncate_at: int):
    """Each text's tokens (cut at ``truncate_at``) as a sparse row of token shares summing to one."""
    from scipy.sparse import diags

    counts, lengths = model.bags(texts, truncate_at)
    return (diags(1.0 / np.maximum(lengths, 1).astype(np.float32)) @ counts).tocsr()


def fit_token_vectors(
    base: StaticModel, texts: Sequence[str], targets: np.ndarray, truncate_at: int, ridge: float = RIDGE_TOKENS
) -> np.ndarray:
    """Token vectors (vocabulary x the teacher's dimension) whose mean over a text's tokens approximates
    the teacher's vector of that text: the linear map, then the kernel-ridge correction (module docstring)."""
    bags = mean_bags(base, texts, truncate_at)
    pooled = bags @ base.vectors
    gram = pooled.T @ pooled + RIDGE_MAP * np.eye(pooled.shape[1], dtype=np.float32)
    mapping = np.linalg.solve(gram, pooled.T @ targets)
    vectors = base.vectors @ mapping
    residual = targets - bags @ vectors
    kernel = (bags @ bags.T).toarray()
    dual = np.linalg.solve(kernel + ridge * np.eye(len(kernel), dtype=kernel.dtype), residual)
    return np.asarray(vectors + bags.T @ dual, dtype=np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def training_order(ids: Sequence[str]) -> list[str]:
    """``ids`` in a fixed pseudo-random order (by hash), so the texts a fit uses do not depend on the
    order samples were imported in, and a larger corpus's sample extends a smaller one's."""
    return sorted(ids, key=lambda i: hashlib.blake2b(i.encode(), digest_size=8).digest())


@dataclass(frozen=True)
class Agreement:
    """Held-out pairs' cosines on both scales: how the tuned model ranks against its teacher."""

    static: np.ndarray
    teacher: np.ndarray
    correlation: float

    def zones(self, threshold: float) -> tuple[float, float | None]:
        """(propose, accept) for a dedup threshold: propose where ``PROPOSE_RECALL`` of the teacher's
        pairs at ``threshold`` are above it (never more than ``MAX_MARGIN`` below the threshold); accept
        from the lowest static cosine above which the teacher agrees on ``ACCEPT_PRECISION`` of at least
        20 pairs (None: no such cosine, every candidate is decided)."""
        positives = self.static[self.teacher >= threshold]
        if len(positives) >= 10:
            propose = float(np.quantile(positives, 1.0 - PROPOSE_RECALL))
        else:  # too few of the teacher's pairs held out to read a quantile: the widest margin
            propose = threshold - MAX_MARGIN
        propose = float(np.floor(min(max(propose, threshold - MAX_MARGIN), threshold) * 100) / 100)
        accept = None
        for cut in np.arange(max(threshold, propose), 1.0 + 1e-9, 0.005):
            above = self.static >= cut
            if above.sum() >= 20 and (self.teacher[above] >= threshold).mean() >= ACCEPT_PRECISION:
                accept = round(float(cut), 3)
                break
        return propose, accept

    def recall(self, threshold: float, propose: float) -> float | None:
        """The share of the teacher's held-out pairs at ``threshold`` that the static stage proposes."""
        positives = self.teacher >= threshold
        return float((self.static[positives] >= propose).mean()) if positives.any() else None

    def summary(self, threshold: float) -> dict:
        propose, accept = self.zones(threshold)
        return {
            "held_out_pairs": len(self.static),
            "cosine_correlation": round(self.correlation, 3),
            "teacher_pairs": int((self.teacher >= threshold).sum()),
            "propose": propose,
            "accept": accept,
            "recall_at_propose": self.recall(threshold, propose),
        }


def _agreement(base: StaticModel, texts: Sequence[str], targets: np.ndarray, truncate_at: int) -> Agreement:
    """Fit on all but a held-out fifth, and compare the cosines of each held-out text with every other text."""
    n = len(texts)
    held = np.arange(n) % round(1 / HELD_OUT) == 0
    kept_texts = [t for t, h in zip(texts, held, strict=True) if not h]
    vectors = fit_token_vectors(base, kept_texts, targets[~held], truncate_at)
    static = _unit(mean_bags(base, texts, truncate_at) @ vectors)
    teacher = _unit(targets)
    rows = np.flatnonzero(held)
    static_cos, teacher_cos = static[rows] @ static.T, teacher[rows] @ teacher.T
    not_self = np.ones_like(static_cos, dtype=bool)
    not_self[np.arange(len(rows)), rows] = False
    # each held-out pair (both held out) appears twice; once suffices
    not_self &= ~(held[None, :] & (np.arange(n)[None, :] <= rows[:, None]))
    s, t = static_cos[not_self], teacher_cos[not_self]
    correlation = float(np.corrcoef(s, t)[0, 1]) if len(s) > 1 and s.std() > 0 and t.std() > 0 else 0.0
    kept = (s >= KEPT_PAIRS_ABOVE) | (t >= KEPT_PAIRS_ABOVE)
    return Agreement(s[kept].astype(np.float32), t[kept].astype(np.float32), correlation)


class TunedStaticModel(StaticModel):
    """A static model whose token vectors were fit to a teacher on one workspace's texts."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.meta = json.loads((folder / "meta.json").read_text())
        self.truncate_at = int(self.meta["truncate_at"])

    @property
    def fingerprint(self) -> str:
        """Names this fit: a new fit gives new vectors, so the index built from them is another."""
        return hashlib.sha256(json.dumps(self.meta, sort_keys=True).encode()).hexdigest()[:10]

    def agreement(self) -> Agreement:
        data = np.load(self.folder / "agreement.npz")
        return Agreement(data["static"], data["teacher"], float(self.meta["cosine_correlation"]))

    def stale(self, corpus_size: int) -> bool:
        """Fit again when the recipe changed or the corpus grew to ``REFIT_GROWTH`` times its size at the fit."""
        return self.meta.get("version") != VERSION or corpus_size >= REFIT_GROWTH * self.meta["corpus_size"]

    @classmethod
    def fit(
        cls,
        base: StaticModel,
        texts: Sequence[str],
        targets: np.ndarray,
        folder: Path,
        *,
        teacher: str,
        corpus_size: int,
        truncate_at: int,
    ) -> TunedStaticModel:
        """Measure agreement on a held-out fifth, fit on all ``texts``, and write the model to ``folder``."""
        targets = np.asarray(targets, dtype=np.float32)
        agreement = _agreement(base, texts, targets, truncate_at)
        vectors = fit_token_vectors(base, texts, targets, truncate_at)
        tmp = scratch_beside(folder)
        np.save(tmp / "embeddings.npy", vectors)
        np.savez(tmp / "agreement.npz", static=agreement.static, teacher=agreement.teacher)
        (tmp / "tokenizer.json").write_bytes((base.folder / "tokenizer.json").read_bytes())
        meta = {
            "version": VERSION,
            "base": base.folder.name,
            "teacher": teacher,
            "texts": len(texts),
            "corpus_size": corpus_size,
            "truncate_at": truncate_at,
            "ridge": RIDGE_TOKENS,
            "cosine_correlation": round(agreement.correlation, 4),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        replace_dir(tmp, folder)
        return cls(folder)


def tuned_model_dir(models: Path, base: StaticModel, teacher: str) -> Path:
    """Where a workspace's tuned model lives: one per distilled base and teacher backend."""
    return models / f"tuned-{base.folder.name}-{teacher}-v{VERSION}"


__all__ = [
    "MIN_TEXTS",
    "TRAIN_TEXTS",
    "Agreement",
    "TunedStaticModel",
    "fit_token_vectors",
    "training_order",
    "tuned_model_dir",
]

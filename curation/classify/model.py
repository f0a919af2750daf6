"""A linear head on sentence embeddings: scikit-learn fits it, numpy applies it.

Logistic regression (multinomial, balanced class weights: the field has 100 optimisation rows and 4
generation rows) over unit-length MiniLM vectors. A few hundred labelled samples are far too few to
fine-tune the encoder, and enough for a linear probe. The fitted weights are kept as plain arrays, so a
stored model is JSON in the store - never a pickle - and predicting needs no scikit-learn.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

CLASSIFIER = "classifier@1"  # bump when features or the head change: stored models then no longer match


@dataclass(frozen=True)
class HeadParams:
    C: float = 10.0  # embeddings have unit norm, so weights must grow large: weak regularisation
    max_iter: int = 2000

    def as_dict(self) -> dict[str, float | int]:
        return {"C": self.C, "max_iter": self.max_iter}


DEFAULT_PARAMS = HeadParams()


@dataclass
class LinearHead:
    labels: list[str]
    coef: np.ndarray  # (classes, dim), or (1, dim) for two classes as scikit-learn fits them
    intercept: np.ndarray
    params: HeadParams = field(default_factory=HeadParams)

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: Sequence[str], params: HeadParams = DEFAULT_PARAMS) -> LinearHead:
        """Fit on at least two classes; a class seen once is still learnt (and predicted, rarely)."""
        from sklearn.linear_model import LogisticRegression

        if len(set(labels)) < 2:
            raise ValueError("a classifier needs at least two classes")
        model = LogisticRegression(C=params.C, max_iter=params.max_iter, class_weight="balanced")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on tiny folds; the fit is still usable
            model.fit(vectors, list(labels))
        return cls([str(c) for c in model.classes_], model.coef_.copy(), model.intercept_.copy(), params)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(samples, classes) probabilities, as scikit-learn's ``predict_proba`` gives them."""
        logits = np.asarray(vectors, dtype=np.float64) @ self.coef.T + self.intercept
        if self.coef.shape[0] == 1:  # binary: one logit for the second class
            positive = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, vectors: np.ndarray) -> list[tuple[str, float]]:
        """The most probable label of each row, with its probability."""
        if len(vectors) == 0:
            return []
        probs = self.probabilities(vectors)
        best = probs.argmax(axis=1)
        return [(self.labels[i], float(probs[row, i])) for row, i in enumerate(best)]

    def weights_json(self) -> dict[str, list]:
        return {"coef": self.coef.tolist(), "intercept": self.intercept.tolist()}

    @classmethod
    def from_json(cls, labels: list[str], weights: dict[str, list], params: dict | None = None) -> LinearHead:
        return cls(
            list(labels),
            np.asarray(weights["coef"], dtype=np.float64),
            np.asarray(weights["intercept"], dtype=np.float64),
            HeadParams(**(params or {})),
        )

"""Intervals for eval means and paired differences, so a table says when a change is noise.

With 35 or 100 cases, a mean moves by several points between two equally good models. The paired
bootstrap (Efron & Tibshirani 1993; the standard for system comparisons in NLP, Koehn 2004) resamples
*cases*, keeping each case's two scores together, so the interval reflects how much the difference
depends on which cases happen to be in the suite. A fixed seed makes every interval repeatable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

RESAMPLES = 2000
CONFIDENCE = 0.95
NO_CHANGE = "no measurable change"


@dataclass(frozen=True)
class Interval:
    """A mean (or mean difference) with its bootstrap interval over ``n`` cases."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def crosses_zero(self) -> bool:
        return self.low <= 0.0 <= self.high

    def verdict(self, *, higher_is_better: bool = True) -> str:
        """For a difference: "better", "worse", or "no measurable change" when the interval holds 0."""
        if self.n == 0 or self.crosses_zero:
            return NO_CHANGE
        return "better" if (self.mean > 0) == higher_is_better else "worse"

    def as_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _interval(samples: np.ndarray, point: float, n: int, confidence: float) -> Interval:
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Interval(float(point), float(low), float(high), n)


def bootstrap_mean(
    values: Sequence[float], *, resamples: int = RESAMPLES, seed: int = 0, confidence: float = CONFIDENCE
) -> Interval:
    """The mean of ``values`` with a percentile bootstrap interval."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(resamples, data.size))
    return _interval(data[picks].mean(axis=1), data.mean(), data.size, confidence)


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> Interval:
    """Mean of ``b - a`` over paired cases, with a bootstrap interval that resamples cases."""
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length ({len(a)} vs {len(b)})")
    return bootstrap_mean(
        np.asarray(b, dtype=float) - np.asarray(a, dtype=float), resamples=resamples, seed=seed, confidence=confidence
    )

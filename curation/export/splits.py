"""Deterministic train/valid/test splits, stratified by category and grouped by prompt.

Why this way:
- *Stratified*: with 28 bug categories of four samples each, independent per-category rounding
  would give every category zero validation samples. Instead members are laid out category by
  category (each category's members ordered by a seeded hash) and dealt out by largest deficit
  against the target ratios, so totals match the ratios and each category is spread proportionally.
- *Grouped*: samples that share a prompt (e.g. several teacher answers to one question) go to the
  same split, so validation never scores a prompt the model trained on.
- *Deterministic*: only ids, categories, prompts and the seed decide the outcome.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from curation.errors import Invalid

SPLIT_NAMES = ("train", "valid", "test")


class SplitError(Invalid, ValueError):
    pass


@dataclass(frozen=True)
class SplitRatios:
    train: float = 0.8
    valid: float = 0.1
    test: float = 0.1

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.train, self.valid, self.test)


def parse_ratios(text: str) -> SplitRatios:
    """Parse ``"0.8,0.1,0.1"``: three non-negative numbers that sum to 1."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise SplitError(f"--split needs three numbers train,valid,test (got {text!r})")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise SplitError(f"--split values must be numbers (got {text!r})") from None
    if any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6 or values[0] == 0:
        raise SplitError(f"--split values must be >= 0, train > 0, and sum to 1 (got {text!r})")
    return SplitRatios(*values)


def _order_key(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def stratified_split(items: list[tuple[str, str | None, str]], ratios: SplitRatios, seed: int) -> dict[str, str]:
    """Assign each ``(id, category, prompt)`` to a split name; returns ``{id: split}``."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    group_category: dict[str, str] = {}
    for item_id, category, prompt in sorted(items):
        prompt_key = hashlib.sha256(prompt.strip().lower().encode()).hexdigest()
        # A prompt group lives in the category of its first member (by id) to stay deterministic.
        cat = group_category.setdefault(prompt_key, category or "")
        groups[(cat, prompt_key)].append(item_id)
    for members in groups.values():
        members.sort()

    ordered = sorted(groups, key=lambda g: (g[0], _order_key(seed, g[1])))
    targets = ratios.as_tuple()
    assigned = [0, 0, 0]
    result: dict[str, str] = {}
    for group in ordered:
        size = len(groups[group])
        total_after = sum(assigned) + size
        deficits = [targets[i] * total_after - assigned[i] for i in range(3)]
        choice = max(range(3), key=lambda i: (deficits[i], -i))
        assigned[choice] += size
        for item_id in groups[group]:
            result[item_id] = SPLIT_NAMES[choice]
    return result

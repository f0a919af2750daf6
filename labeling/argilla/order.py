"""The order records reach a reviewer in: the most useful first (``triforge review push --order``).

An expert's hour is the scarce resource, so a push sends each kind's records best-first and numbers
them (metadata ``review_priority``, 1 = first; Argilla's "Sort" menu orders by it too). The orders:

- ``useful`` (default): the three below, in this precedence -
  1. samples that fail a validator *and* carry a proposed repair (``triforge propose repairs``): one
     click accepts the repair as the correction, so each is a cheap, certain gain;
  2. representatives of large near-duplicate clusters, largest first: one decision settles the
     whole cluster;
  3. samples of under-represented categories (fewest current samples of their kind and category
     first): they add the most to the balance of a training set.
- ``repairs``: only rule 1, then id order.
- ``clusters``: only rule 2 (cluster size, largest first), then id order.
- ``rare``: only rule 3 (category count, smallest first), then id order.
- ``id``: revision id order (what pushes did before there was a choice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from curation.errors import Invalid
from curation.resources.reviews import Candidate

ORDERS = {
    "useful": "failing with a repair, then large clusters' representatives, then rare categories",
    "repairs": "failing samples that carry a proposed repair first",
    "clusters": "representatives of the largest near-duplicate clusters first",
    "rare": "samples of the least represented categories first",
    "id": "revision id order",
}
DEFAULT_ORDER = "useful"


@dataclass(frozen=True)
class OrderFacts:
    """What the order needs to know about the candidates, read once per push."""

    repairs: Mapping[str, object]  # revision id -> its proposed repair (only presence matters)
    clusters: Mapping[str, int]  # revision id -> near-duplicate cluster size (absent: 1)
    category_counts: Mapping[tuple[str, str | None], int]  # (kind, category) -> current samples


def _repairable(c: Candidate, facts: OrderFacts) -> int:
    return 0 if c.validation == "failed" and c.id in facts.repairs else 1


def _cluster(c: Candidate, facts: OrderFacts) -> int:
    return -facts.clusters.get(c.id, 1)


def _rarity(c: Candidate, facts: OrderFacts) -> int:
    return facts.category_counts.get((c.kind, c.category), 0)


_KEYS: dict[str, Callable[[Candidate, OrderFacts], tuple]] = {
    "useful": lambda c, f: (_repairable(c, f), _cluster(c, f), _rarity(c, f), c.id),
    "repairs": lambda c, f: (_repairable(c, f), c.id),
    "clusters": lambda c, f: (_cluster(c, f), c.id),
    "rare": lambda c, f: (_rarity(c, f), c.id),
    "id": lambda c, f: (c.id,),
}


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise Invalid(f"unknown review order {order!r}: {', '.join(ORDERS)}")
    return order


def ordered(candidates: Sequence[Candidate], facts: OrderFacts, order: str = DEFAULT_ORDER) -> list[Candidate]:
    """``candidates`` best-first by ``order`` (one kind's, or all: kinds go to separate datasets anyway)."""
    key = _KEYS[check_order(order)]
    return sorted(candidates, key=lambda c: key(c, facts))


__all__ = ["DEFAULT_ORDER", "ORDERS", "OrderFacts", "check_order", "ordered"]

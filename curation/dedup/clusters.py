"""Pairs -> clusters (union-find) -> one representative per cluster.

Representative policy, in order: an approved sample beats any other; then the best validation
score; then the earliest created; then the smallest id (so the choice is deterministic). Nothing is
deleted: the others are marked ``duplicate_of`` the representative.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent.setdefault(x, x)
        if parent != x:
            parent = self.parent[x] = self.find(parent)
        return parent

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass(frozen=True)
class Candidate:
    """What the representative policy looks at."""

    id: str
    approved: bool
    validation_score: float | None
    created_at: datetime

    def rank(self) -> tuple:
        score = self.validation_score if self.validation_score is not None else -1.0
        return (not self.approved, -score, self.created_at, self.id)


@dataclass
class Cluster:
    representative: str
    members: list[str]
    similarity: dict[str, float] = field(default_factory=dict)  # best similarity linking each member
    methods: dict[str, set[str]] = field(default_factory=dict)


def build_clusters(pairs: Iterable[tuple[str, str, str, float]], candidates: dict[str, Candidate]) -> list[Cluster]:
    """``pairs`` are (a, b, method, similarity) among ``candidates``; returns clusters of 2+."""
    uf = UnionFind()
    best: dict[str, float] = defaultdict(float)
    methods: dict[str, set[str]] = defaultdict(set)
    for a, b, method, sim in pairs:
        if a not in candidates or b not in candidates or a == b:
            continue
        uf.union(a, b)
        for x in (a, b):
            best[x] = max(best[x], sim)
            methods[x].add(method)
    groups: dict[str, list[str]] = defaultdict(list)
    for x in list(uf.parent):
        groups[uf.find(x)].append(x)
    clusters = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: candidates[m].rank())
        clusters.append(Cluster(members[0], members, {m: best[m] for m in members}, {m: methods[m] for m in members}))
    clusters.sort(key=lambda c: (-len(c.members), c.representative))
    return clusters

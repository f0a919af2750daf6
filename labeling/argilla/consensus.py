"""Consensus rules: how reviewers' submitted responses on one record become one decision.

- ``unanimous`` (default): at least ``min_submitted`` submitted responses, all with the same decision;
- ``majority``: at least ``min_submitted`` submitted responses and more than half with one decision.

Fewer than ``min_submitted`` submitted responses decide nothing yet (None); anything else is
``disputed`` and waits for more responses. Drafts and discarded responses never vote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

RULES = ("unanimous", "majority")


def decide(responses: Sequence[dict[str, Any]], rule: str, min_submitted: int) -> str | None:
    """``approve``, ``reject``, ``disputed``, or None when too few reviewers have submitted."""
    if rule not in RULES:
        raise ValueError(f"unknown consensus rule {rule!r}: {', '.join(RULES)}")
    submitted = [r for r in responses if r["status"] == "submitted" and r["decision"]]
    if len(submitted) < min_submitted:
        return None
    votes = Counter(r["decision"] for r in submitted)
    top, count = votes.most_common(1)[0]
    if rule == "unanimous":
        return top if count == len(submitted) else "disputed"
    return top if count * 2 > len(submitted) else "disputed"


def voters(responses: Sequence[dict[str, Any]], decision: str) -> list[dict[str, Any]]:
    """The submitted responses that voted ``decision``: the reviewers a status change is credited to."""
    return [r for r in responses if r["status"] == "submitted" and r["decision"] == decision]

"""``triforge review stats``: throughput, what is pending, and how much reviewers agree.

Argilla 2.x has no agreement metric built in, and the embedded search engine aggregates per-user
metrics wrongly, so everything here is computed from the store's own ``reviews`` table.

Agreement is Krippendorff's alpha for nominal data: it takes any number of reviewers per sample and
samples with different numbers of reviews, and corrects for the agreement chance alone would give.
1 is perfect agreement, 0 is chance, below 0 is systematic disagreement; it is undefined (None) when
fewer than two samples have two reviews or when every answer is the same value.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import permutations
from typing import Any

from curation.store import Store


def krippendorff_alpha_nominal(units: list[list[str]]) -> float | None:
    """Alpha over units (one list of values per sample); units with fewer than two values do not count."""
    coincidence: Counter[tuple[str, str]] = Counter()
    pairable = [values for values in units if len(values) >= 2]
    if len(pairable) < 2:
        return None
    for values in pairable:
        weight = 1 / (len(values) - 1)
        for a, b in permutations(range(len(values)), 2):
            coincidence[(values[a], values[b])] += weight
    totals: Counter[str] = Counter()
    for (c, _), count in coincidence.items():
        totals[c] += count
    n = sum(totals.values())
    observed = sum(count for (c, k), count in coincidence.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if expected == 0:
        return None
    return round(1 - (n - 1) * observed / expected, 4)


def review_stats(store: Store) -> dict[str, Any]:
    keys = ("reviewer", "submitted", "approve", "reject", "corrections", "last")
    reviewers = [
        dict(zip(keys, (*r[:5], str(r[5])[:19]), strict=True))
        for r in store.con.execute(
            "SELECT reviewer, count(*) FILTER (WHERE status = 'submitted'), "
            "count(*) FILTER (WHERE decision = 'approve'), count(*) FILTER (WHERE decision = 'reject'), "
            "count(*) FILTER (WHERE coalesce(corrected_answer, '') <> '' "
            "OR coalesce(answers->>'$.corrected_design', '') <> ''), max(pulled_at) "
            "FROM reviews GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
    ]
    pending = dict(
        store.con.execute(
            "SELECT CASE WHEN o.revision_id IS NOT NULL THEN o.outcome "
            "WHEN EXISTS (SELECT 1 FROM reviews v WHERE v.revision_id = a.revision_id AND v.status = 'submitted') "
            "THEN 'responded, undecided' ELSE 'awaiting a response' END, count(*) "
            "FROM argilla_records a LEFT JOIN review_outcomes o USING (revision_id) GROUP BY 1"
        ).fetchall()
    )
    rows = store.con.execute(
        "SELECT v.revision_id, r.category, v.decision, v.category FROM reviews v "
        "JOIN revisions r ON r.id = v.revision_id WHERE v.status = 'submitted' ORDER BY v.revision_id, v.reviewer"
    ).fetchall()
    decisions: dict[str, list[str]] = defaultdict(list)
    tags: dict[str, list[str]] = defaultdict(list)
    category_of: dict[str, str] = {}
    for revision_id, category, decision, tag in rows:
        category_of[revision_id] = category or "(none)"
        if decision:
            decisions[revision_id].append(decision)
        if tag:
            tags[revision_id].append(tag)
    by_category: dict[str, list[list[str]]] = defaultdict(list)
    for revision_id, values in decisions.items():
        by_category[category_of[revision_id]].append(values)
    return {
        "reviewers": reviewers,
        "records": pending,
        "agreement": {
            "decision": krippendorff_alpha_nominal(list(decisions.values())),
            "category": krippendorff_alpha_nominal(list(tags.values())),
            "decision_by_category": {c: krippendorff_alpha_nominal(u) for c, u in sorted(by_category.items())},
            "samples_with_two_or_more_reviews": sum(len(v) >= 2 for v in decisions.values()),
        },
    }

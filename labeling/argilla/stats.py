"""``triforge review stats``: throughput, what is pending, and how much reviewers agree.

Argilla 2.x has no agreement metric built in, and the embedded search engine aggregates per-user
metrics wrongly, so everything here is computed from the store's own ``reviews`` table.

Agreement is Krippendorff's alpha for nominal data: it takes any number of reviewers per sample and
samples with different numbers of reviews, and corrects for the agreement chance alone would give.
1 is perfect agreement, 0 is chance, below 0 is systematic disagreement; it is undefined (None) when
fewer than two samples have two reviews or when every answer is the same value.

Per reviewer per day: how many responses they submitted, between which times, and the time a record
took them. Argilla 2.8 records no time spent on a response, only when it was last saved
(``updated_at``), so the time per record is the median gap between a reviewer's consecutive
submissions that day; a gap over ``BREAK`` is a pause, not a record's work, and is left out. A day with
one submission has no time per record (None).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import timedelta
from itertools import pairwise, permutations
from statistics import median
from typing import Any

from curation.resources.reviews import ReviewerDay, ReviewerTotals
from curation.workspace import Workspace

BREAK = timedelta(minutes=10)


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


@dataclass(frozen=True)
class DayThroughput:
    """One reviewer's day: submissions, first and last submission, time per record (see the module)."""

    reviewer: str
    day: str
    submitted: int
    first: str
    last: str
    seconds_per_record: float | None
    timed_records: int  # how many gaps the median is taken over


@dataclass(frozen=True)
class Agreement:
    decision: float | None
    category: float | None
    decision_by_category: dict[str, float | None]
    samples_with_two_or_more_reviews: int


@dataclass(frozen=True)
class ReviewStats:
    reviewers: list[ReviewerTotals]
    days: list[DayThroughput]
    records: dict[str, int]
    agreement: Agreement

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` form (a reviewer's last pull is ``last``, as before there were days)."""
        found = asdict(self)
        for reviewer in found["reviewers"]:
            reviewer["last"] = reviewer.pop("last_pull")
        return found


def day_throughput(day: ReviewerDay) -> DayThroughput:
    gaps = [(b - a).total_seconds() for a, b in pairwise(day.stamps) if b - a <= BREAK]
    return DayThroughput(
        reviewer=day.reviewer,
        day=day.day.isoformat(),
        submitted=day.submitted,
        first=day.first.isoformat(timespec="seconds"),
        last=day.last.isoformat(timespec="seconds"),
        seconds_per_record=round(median(gaps), 1) if gaps else None,
        timed_records=len(gaps),
    )


def review_stats(workspace: Workspace) -> ReviewStats:
    reviews = workspace.reviews
    decisions: dict[str, list[str]] = defaultdict(list)
    tags: dict[str, list[str]] = defaultdict(list)
    category_of: dict[str, str] = {}
    for vote in reviews.submitted_votes():
        category_of[vote.revision_id] = vote.sample_category or "(none)"
        if vote.decision:
            decisions[vote.revision_id].append(vote.decision)
        if vote.tag:
            tags[vote.revision_id].append(vote.tag)
    by_category: dict[str, list[list[str]]] = defaultdict(list)
    for revision_id, values in decisions.items():
        by_category[category_of[revision_id]].append(values)
    return ReviewStats(
        reviewers=reviews.reviewer_totals(),
        days=[day_throughput(d) for d in reviews.reviewer_days()],
        records=reviews.record_states(),
        agreement=Agreement(
            decision=krippendorff_alpha_nominal(list(decisions.values())),
            category=krippendorff_alpha_nominal(list(tags.values())),
            decision_by_category={c: krippendorff_alpha_nominal(u) for c, u in sorted(by_category.items())},
            samples_with_two_or_more_reviews=sum(len(v) >= 2 for v in decisions.values()),
        ),
    )

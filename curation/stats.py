"""Dataset counts by kind, category, source and status - what curators check balance with."""

from __future__ import annotations

from dataclasses import dataclass, field

from curation.filters import compile_filter
from curation.store import Store

DIMENSIONS = {
    "kind": "kind",
    "category": "coalesce(category, '(none)')",
    "source": "source_type || ':' || source_name",
    "status": "status",
}


@dataclass
class Stats:
    total: int
    by: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"total": self.total, **{f"by_{k}": v for k, v in self.by.items()}}


def dataset_stats(store: Store, where: str | None = None) -> Stats:
    flt = compile_filter(where)
    total = store.con.execute(f"SELECT count(*) FROM samples WHERE {flt.sql}", flt.params).fetchone()[0]
    stats = Stats(total=total)
    for name, expr in DIMENSIONS.items():
        rows = store.con.execute(
            f"SELECT {expr} AS k, count(*) AS n FROM samples WHERE {flt.sql} GROUP BY k ORDER BY n DESC, k",
            flt.params,
        ).fetchall()
        stats.by[name] = {k: n for k, n in rows}
    return stats

"""Dataset counts by kind, category, source and status - what curators check balance with."""

from __future__ import annotations

from dataclasses import dataclass, field

from curation.workspace import Workspace


@dataclass
class Stats:
    total: int
    by: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"total": self.total, **{f"by_{k}": v for k, v in self.by.items()}}


def dataset_stats(workspace: Workspace, where: str | None = None) -> Stats:
    total, by = workspace.samples.balance(where)
    return Stats(total=total, by=by)

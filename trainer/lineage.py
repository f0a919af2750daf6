"""``triforge lineage ADAPTER``: what an adapter learned from, and who vouched for it.

The chain is adapter -> training run -> snapshot -> member revisions -> their sources (generator,
teacher model, contributor, imported file) and the people whose review decisions put them there. The
store's side of it is :meth:`curation.resources.training_runs.TrainingRuns.lineage`.
"""

from __future__ import annotations

from curation.resources.training_runs import Lineage
from curation.workspace import Workspace


def resolve_training_run(workspace: Workspace, ref: str) -> str:
    """An adapter directory (its manifest names the run) or a training run id / unique prefix."""
    return workspace.training_runs.resolve(ref)


def lineage(workspace: Workspace, ref: str) -> Lineage:
    return workspace.training_runs.lineage(ref)


__all__ = ["Lineage", "lineage", "resolve_training_run"]

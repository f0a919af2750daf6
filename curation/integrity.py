"""Is this store what it claims to be? Every snapshot re-hashed, every revision re-derived.

Snapshots carry content hashes and revisions are named by the hash of their content, so a store
restored from a backup (or edited behind Triforge's back) can be checked without any outside
reference: ``triforge store verify`` runs this, locally or through the running service.
"""

from __future__ import annotations

from pydantic import BaseModel, computed_field

from curation.samples import content_problem
from curation.workspace import Workspace


class SnapshotCheck(BaseModel):
    name: str
    id: str
    member_count: int
    problems: list[str]


class StoreCheck(BaseModel):
    revisions: int
    # Revisions whose stored content no longer hashes to their id (or no longer parses), with why.
    revision_problems: list[str]
    snapshots: list[SnapshotCheck]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.revision_problems and not any(s.problems for s in self.snapshots)


def _revision_problems(workspace: Workspace) -> tuple[int, list[str]]:
    count, problems = 0, []
    for row in workspace.samples.stored_rows():
        count += 1
        if problem := content_problem(row, "revision"):
            problems.append(problem)
    return count, problems


def verify_store(workspace: Workspace) -> StoreCheck:
    count, revision_problems = _revision_problems(workspace)
    snapshots = [
        SnapshotCheck(name=s.name, id=s.id, member_count=s.member_count, problems=workspace.snapshots.verify(s.id))
        for s in workspace.snapshots.list()
    ]
    return StoreCheck(revisions=count, revision_problems=revision_problems, snapshots=snapshots)

"""Propose, store, check: ``triforge generate`` (template proposers) and ``triforge propose`` (a teacher
or a bootstrapped model), as steps.

Proposers only propose (``generators/``); this module stores what they made with its provenance and
hands the batch to the one check step, so a template, a teacher and a bootstrapped model are judged
the same way as a community submission.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from curation.resources.samples import PendingRevision
from curation.rommap import load_rom_map
from curation.workspace import Workspace
from generators.base import get_generator
from generators.teacher.batch import BatchSettings, BatchSummary, run_batch
from generators.teacher.clients import ChatClient
from generators.teacher.tasks import TeacherTask
from pipelines.base import PipelineStep, Progress
from pipelines.check import Check


@dataclass
class GenerateSummary:
    generator: str
    seed: int
    made: int
    new: int
    valid: int
    rejected_by_validators: int
    duplicates: int  # near or exact duplicates of another sample (template siblings count)
    exact_duplicates: int
    ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "ids"}


class Generate(PipelineStep):
    """A template proposer's batch, stored as ``proposed`` with ``template`` provenance, then checked."""

    name = "generate"

    def run(self, generator_name: str, n: int, seed: int, *, progress: Progress | None = None) -> GenerateSummary:
        generator = get_generator(generator_name)
        revisions = generator.generate(n, seed, rom_map=load_rom_map(self.workspace.paths.rom_map))
        source = f"{generator.name}@{generator.version}"
        if progress:
            progress("store", 0, len(revisions))
        with self.workspace.transaction():
            new = self.workspace.samples.write(
                [PendingRevision(r, "proposed", i) for i, r in enumerate(revisions, 1)],
                import_id=f"generate:{source}:{seed}",
                actor=f"generator:{source}",
            )
        ids = [r.id for r in revisions]
        checked = Check(self.workspace).run(ids, _source_filter(source), progress=progress)
        return GenerateSummary(
            generator=source,
            seed=seed,
            made=len(revisions),
            new=new,
            valid=checked.valid,
            rejected_by_validators=checked.rejected_by_validators,
            duplicates=checked.duplicates,
            exact_duplicates=checked.exact_duplicates,
            ids=ids,
        )


class ProposeWithModel(PipelineStep):
    """A teacher (or bootstrapped model) batch: resumable requests, stored replies, then the check."""

    name = "propose"

    def run(
        self,
        client: ChatClient,
        tasks: list[TeacherTask],
        settings: BatchSettings,
        *,
        progress: Progress | None = None,
    ) -> BatchSummary:
        summary = run_batch(self.workspace, client, tasks, settings, progress=progress)
        if summary.ids:
            checked = Check(self.workspace).run(summary.ids, _source_filter(summary.source_name), progress=progress)
            summary.valid = checked.valid
            summary.rejected_by_validators = checked.rejected_by_validators
            summary.duplicates = checked.duplicates
        return summary


def _source_filter(source_name: str) -> str:
    return f"source_name = {json.dumps(source_name)}"


def run_generator(
    workspace: Workspace, name: str, n: int, seed: int, *, progress: Progress | None = None
) -> GenerateSummary:
    """``Generate(workspace).run(...)`` for callers that hold a Store or a Workspace."""
    return Generate(workspace).run(name, n, seed, progress=progress)


def propose_with_model(
    workspace: Workspace,
    client: ChatClient,
    tasks: list[TeacherTask],
    settings: BatchSettings,
    *,
    progress: Progress | None = None,
) -> BatchSummary:
    return ProposeWithModel(workspace).run(client, tasks, settings, progress=progress)


__all__ = ["Generate", "GenerateSummary", "ProposeWithModel", "propose_with_model", "run_generator"]

"""What the benchmark scripts share: a store with proposals in it (the field's training files are
``curation.paths.FIELD_TRAINING_FILES``, the machine they ran on ``curation.machine``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from curation.resources.samples import PendingRevision
from curation.rommap import RomMap
from curation.workspace import Workspace, WorkspacePaths
from schemas.sample import SampleRevision


def proposed_copy(base: Path, home: Path, revisions: list[SampleRevision], rom_map: RomMap | None = None) -> Workspace:
    """A fresh copy of the store at ``base`` under ``home`` with ``revisions`` proposed in it (and the ROM map
    beside it, when given): each bench arm starts from the same corpus."""
    home.mkdir(exist_ok=True)
    shutil.copyfile(base, home / "triforge.duckdb")
    if rom_map is not None:
        rom_map.save(WorkspacePaths(home).rom_map)
    ws = Workspace(home)
    with ws.transaction():
        ws.samples.write(
            [PendingRevision(r, "proposed", i) for i, r in enumerate(revisions, 1)],
            import_id=f"bench:{home.name}",
            actor="bench",
        )
    return ws

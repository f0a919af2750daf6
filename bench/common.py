"""What the benchmark scripts share: the machine they ran on, and the field's training files."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

from curation.importers.service import PendingRevision, write_revisions
from curation.rommap import RomMap
from curation.workspace import Workspace, WorkspacePaths
from schemas.sample import SampleRevision

# The field's five training files (the eval suites beside them are kept out of every corpus).
TRAINING_FILES = (
    "din_optimization_training_v2.jsonl",
    "farore_benchmark.jsonl",
    "farore_debugging_training.jsonl",
    "teacher_pilot_output.jsonl",
    "veran_snes_hardware.jsonl",
)


def cpu_model() -> str:
    """The CPU the figures were measured on: machines of one kind differ, so figures travel with it."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    return next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "?")


# The instruction-set features int8 inference speed depends on: with AVX-512 VNNI or AMX an int8 model runs
# several times faster than float; with AVX2 alone (some machines of the same kind) barely faster.
ISA_FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_features() -> str:
    """The ISA features that decide the embedding backends' speed, as present/absent on this CPU."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "ISA features unknown"
    flags = set(next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []))
    return ", ".join(f"{name} {'yes' if name in flags else 'NO'}" for name in ISA_FEATURES)


def proposed_copy(base: Path, home: Path, revisions: list[SampleRevision], rom_map: RomMap | None = None) -> Workspace:
    """A fresh copy of the store at ``base`` under ``home`` with ``revisions`` proposed in it (and the ROM map
    beside it, when given): each bench arm starts from the same corpus."""
    home.mkdir(exist_ok=True)
    shutil.copyfile(base, home / "triforge.duckdb")
    if rom_map is not None:
        rom_map.save(WorkspacePaths(home).rom_map)
    ws = Workspace(home)
    with ws.store.transaction():
        write_revisions(
            ws.store,
            [PendingRevision(r, "proposed", i) for i, r in enumerate(revisions, 1)],
            import_id=f"bench:{home.name}",
            actor="bench",
        )
    return ws

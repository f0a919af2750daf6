"""Replacing a folder whole: indexes and derived models are written beside their final place and
swapped in, so a crash mid-write leaves the previous folder (or none), never half of one."""

from __future__ import annotations

import shutil
from pathlib import Path


def scratch_beside(final: Path) -> Path:
    """An empty folder next to ``final`` to write the new contents into (left over ones are cleared)."""
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def replace_dir(tmp: Path, final: Path) -> None:
    """Put ``tmp`` in ``final``'s place: the old folder is renamed aside first and removed only after."""
    old = final.with_name(final.name + ".old")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)

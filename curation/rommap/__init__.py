"""The ROM map: the game's code, data and RAM use, read from the user's own disassembly checkout.

``build_rom_map`` reads a usdasm-style checkout (and a hack file) into a :class:`RomMap`;
``load_rom_map`` reads the one a workspace keeps, once per process and file version. The project
ships no disassembly and nothing derived from one: the map is built on the user's machine from
the user's files.
"""

from __future__ import annotations

import threading
from pathlib import Path

from curation.rommap.hack import HackClaims, read_hack_file
from curation.rommap.model import Entry, Reference, RomMap, build_map, rom_address, save_offset
from curation.rommap.usdasm import read_checkout

_loaded: dict[Path, tuple[float, RomMap]] = {}
_lock = threading.Lock()


def build_rom_map(checkout: Path, hack_file: Path | None = None) -> RomMap:
    hack = read_hack_file(hack_file) if hack_file else HackClaims()
    return build_map(read_checkout(Path(checkout)), hack, str(Path(checkout).resolve()))


def load_rom_map(path: Path) -> RomMap | None:
    """The map saved at ``path`` (None when there is none), cached while the file is unchanged."""
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _lock:
        cached = _loaded.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
        rom_map = RomMap.load(path)
        _loaded[path] = (stamp, rom_map)
        return rom_map


__all__ = [
    "Entry",
    "HackClaims",
    "Reference",
    "RomMap",
    "build_rom_map",
    "load_rom_map",
    "read_hack_file",
    "rom_address",
    "save_offset",
]

"""A hack's own claims on the ROM and the save file: the small TOML file a hack's author writes.

The disassembly says what vanilla uses; only the hack knows what it added - the expanded banks it
fills, the save bytes it gave meaning to, the routines and hooks it already placed. A quest proposal
is checked against both, so a new patch neither overwrites vanilla code nor a byte the hack already
uses for something else. The format (every address in ``$BBAAAA`` or ``0x`` form)::

    name = "Goron Expedition"

    [[free_space]]            # ROM the hack may fill: expanded banks, or vanilla space it reclaimed
    start = "$208000"
    end = "$21FFFF"
    note = "expanded banks, Asar freecode"

    [[sram]]                  # save-file bytes (the WRAM copy at $7EF000-$7EF4FF) the hack owns
    address = "$7EF410"
    size = 1
    name = "QuestFlags"
    use = "bit 0: honey delivered, bit 1: lighthouse lit"

    [[routines]]              # the hack's own routines, so a hook into them is recognised
    name = "GoronQuest_Main"
    address = "$208000"

    [[hooks]]                 # vanilla bytes the hack already overwrites
    address = "$05E219"
    size = 4
    note = "JSL GoronQuest_Message"

``docs/examples/hack.toml`` is a complete example.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from curation.errors import Invalid


@dataclass(frozen=True)
class FreeSpace:
    start: int
    end: int  # inclusive
    note: str = ""

    def holds(self, address: int) -> bool:
        return self.start <= address <= self.end


@dataclass(frozen=True)
class SramClaim:
    address: int
    size: int
    name: str
    use: str = ""

    def holds(self, address: int) -> bool:
        return self.address <= address < self.address + self.size


@dataclass(frozen=True)
class HackRoutine:
    name: str
    address: int


@dataclass(frozen=True)
class HackHook:
    address: int
    size: int
    note: str = ""


@dataclass(frozen=True)
class HackClaims:
    name: str = ""
    free_space: tuple[FreeSpace, ...] = ()
    sram: tuple[SramClaim, ...] = ()
    routines: tuple[HackRoutine, ...] = ()
    hooks: tuple[HackHook, ...] = ()
    source: str = ""  # the file it was read from

    def sram_claim(self, address: int) -> SramClaim | None:
        return next((claim for claim in self.sram if claim.holds(address)), None)

    def free(self, address: int) -> FreeSpace | None:
        return next((space for space in self.free_space if space.holds(address)), None)

    def hook_at(self, address: int) -> HackHook | None:
        return next((h for h in self.hooks if h.address <= address < h.address + h.size), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HackClaims:
        return cls(
            name=data.get("name", ""),
            free_space=tuple(FreeSpace(**f) for f in data.get("free_space", ())),
            sram=tuple(SramClaim(**s) for s in data.get("sram", ())),
            routines=tuple(HackRoutine(**r) for r in data.get("routines", ())),
            hooks=tuple(HackHook(**h) for h in data.get("hooks", ())),
            source=data.get("source", ""),
        )


def parse_address(value: object, where: str) -> int:
    """``$7EF410``, ``$7E:F410``, ``0x7EF410`` or an integer."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().replace(":", "")
        try:
            if text.startswith("$"):
                return int(text[1:], 16)
            return int(text, 0)
        except ValueError:
            pass
    raise Invalid(f"{where}: {value!r} is not an address (write $BBAAAA or 0xBBAAAA)")


def _table(data: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise Invalid(f"{path}: [[{key}]] must be a list of tables")
    return items


def read_hack_file(path: Path) -> HackClaims:
    """Read and check a hack file; a mistake is one line naming the entry."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Invalid(f"{path}: no such hack file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: not valid TOML: {exc}") from None
    free = []
    for i, item in enumerate(_table(data, "free_space", path), 1):
        start = parse_address(item.get("start"), f"{path}: free_space {i} start")
        end = parse_address(item.get("end"), f"{path}: free_space {i} end")
        if end < start:
            raise Invalid(f"{path}: free_space {i} ends before it starts")
        free.append(FreeSpace(start, end, str(item.get("note", ""))))
    sram = []
    for i, item in enumerate(_table(data, "sram", path), 1):
        address = parse_address(item.get("address"), f"{path}: sram {i} address")
        size = item.get("size", 1)
        if not isinstance(size, int) or not 1 <= size <= 0x500:
            raise Invalid(f"{path}: sram {i} size must be 1-1280 bytes")
        if not item.get("name"):
            raise Invalid(f"{path}: sram {i} needs a name (what the bytes are for)")
        sram.append(SramClaim(address, size, str(item["name"]), str(item.get("use", ""))))
    routines = [
        HackRoutine(str(item.get("name", "")), parse_address(item.get("address"), f"{path}: routines {i} address"))
        for i, item in enumerate(_table(data, "routines", path), 1)
    ]
    hooks = [
        HackHook(
            parse_address(item.get("address"), f"{path}: hooks {i} address"),
            int(item.get("size", 4)),
            str(item.get("note", "")),
        )
        for i, item in enumerate(_table(data, "hooks", path), 1)
    ]
    return HackClaims(str(data.get("name", "")), tuple(free), tuple(sram), tuple(routines), tuple(hooks), str(path))


__all__ = ["FreeSpace", "HackClaims", "HackHook", "HackRoutine", "SramClaim", "parse_address", "read_hack_file"]

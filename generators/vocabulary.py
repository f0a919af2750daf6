"""The words template proposers draw from: ALTTP routine-name parts, RAM the game really uses, places
and people, plus routine names mined from the field data when it is present.

Why a curated list *and* the field: the curated list makes a proposer work anywhere (a fresh clone,
CI without ``shared/``), the field names make proposals speak the dialect of the hack the data comes
from (``WaterGate_FillComplete``, ``Sprite_Draw1x1_16x16``). Mining is deterministic - files sorted,
names sorted and de-duplicated - so the same seed and the same field directory give the same proposals.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from curation.paths import field_data_dir

# Routine names are composed as Prefix_NounVerb or Prefix_Noun_Verb: about 9,000 names, in the
# disassembly's style (``Sprite_Octorok_Main``, ``Link_HandleSword``).
NAME_PREFIXES = (
    "Sprite",
    "Link",
    "Ancilla",
    "Overworld",
    "Dungeon",
    "Hud",
    "Menu",
    "Oracle",
    "Garnish",
    "Tagalong",
    "Boss",
    "Custom",
    "Module",
    "Player",
)
NAME_NOUNS = (
    "Octorok",
    "Moblin",
    "Zora",
    "Keese",
    "Stalfos",
    "Minecart",
    "Torch",
    "Chest",
    "Hearts",
    "Rupees",
    "Lantern",
    "Boomerang",
    "Hookshot",
    "Raft",
    "Mask",
    "Owl",
    "Cucco",
    "Waterfall",
    "Portal",
    "Switch",
    "Crystal",
    "Bridge",
    "Fountain",
    "Shop",
    "Clock",
    "Weather",
    "Lava",
    "Ice",
    "Wind",
    "Deku",
    "Wolf",
    "Ocarina",
)
NAME_VERBS = (
    "Main",
    "Draw",
    "Tick",
    "Init",
    "Update",
    "Spawn",
    "Check",
    "Apply",
    "Load",
    "Reset",
    "Handle",
    "Animate",
    "Prep",
    "Move",
    "Collide",
    "Upload",
    "Restore",
    "Refresh",
    "Open",
    "Save",
)

LOOP_LABELS = (".loop", ".next", ".next_slot", ".copy", ".each", ".again", ".scan", ".fill", ".sum", ".step")
EXIT_LABELS = (".done", ".exit", ".return", ".skip", ".finished", ".out", ".bail", ".no_change", ".end")


@dataclass(frozen=True)
class Ram:
    """A WRAM/SRAM location and what the game keeps there."""

    address: int  # 24-bit
    what: str
    wide: bool = False  # a 16-bit value

    @property
    def long(self) -> str:
        return f"${self.address:06X}"

    @property
    def absolute(self) -> str:
        """Bank-less form; only meaningful for $7E0000-$7E1FFF, mirrored in banks $00-$3F/$80-$BF."""
        return f"${self.address & 0xFFFF:04X}"

    @property
    def direct(self) -> str:
        return f"${self.address & 0xFF:02X}"


# Locations A Link to the Past really uses (the disassembly's names, paraphrased).
WRAM = (
    Ram(0x7E0010, "the main module index"),
    Ram(0x7E0011, "the submodule index"),
    Ram(0x7E001A, "the frame counter"),
    Ram(0x7E0020, "Link's Y coordinate", True),
    Ram(0x7E0022, "Link's X coordinate", True),
    Ram(0x7E002F, "Link's facing direction"),
    Ram(0x7E005D, "Link's state"),
    Ram(0x7E00A0, "the current room", True),
    Ram(0x7E008A, "the overworld area"),
    Ram(0x7E00F0, "the joypad 1 copy"),
)
SPRITE_TABLES = (
    Ram(0x7E0DD0, "the sprite state table"),
    Ram(0x7E0E20, "the sprite type table"),
    Ram(0x7E0D00, "the sprite Y (low) table"),
    Ram(0x7E0D10, "the sprite X (low) table"),
    Ram(0x7E0DF0, "the sprite timer table"),
    Ram(0x7E0E50, "the sprite health table"),
    Ram(0x7E0D80, "the sprite AI step table"),
    Ram(0x7E0EB0, "the sprite head direction table"),
)
SAVE_WRAM = (
    Ram(0x7EF340, "the bow"),
    Ram(0x7EF343, "the bomb count"),
    Ram(0x7EF360, "the rupee count", True),
    Ram(0x7EF36C, "the maximum health"),
    Ram(0x7EF36D, "the current health"),
    Ram(0x7EF36E, "the magic meter"),
    Ram(0x7EF377, "the arrow count"),
    Ram(0x7EF3C5, "the game progress byte"),
    Ram(0x7EF3CA, "the light/dark world flag"),
)

HACK_CONTEXTS = (
    "It's part of an ALTTP hack built on the usdasm disassembly.",
    "This is from my Oracle of Secrets style hack.",
    "I'm patching vanilla ALTTP with Asar.",
    "It runs once per frame from {caller}.",
    "I hooked it in with a JSL from {caller}.",
    "The hack is assembled with Asar 1.91 onto a US ALTTP ROM.",
    "It replaces a vanilla routine that {caller} calls.",
    "I'm porting this from another hack into my own base ROM.",
    "It's new code in free space in bank $2{bank}.",
    "Testing in {emulator}, both on a fresh save and an old one.",
)
EMULATORS = ("Mesen", "Mesen-S", "bsnes-plus", "Snes9x", "Geiger's Snes9x debugger", "BizHawk")

_NAME = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]{5,39}):|\b(?:JSR|JSL|JMP|JML)\s+([A-Za-z_][A-Za-z0-9_]{5,39})\b", re.M)
_SHAPED = re.compile(r"^[A-Z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+$|^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+$")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


@lru_cache(maxsize=8)
def mined_routine_names(directory: str | None) -> tuple[str, ...]:
    """Routine names in the field's code (labels and call targets shaped like ``Snake_Case`` or
    ``CamelCase``), sorted; empty when there is no field directory. Read once per directory."""
    if directory is None or not Path(directory).is_dir():
        return ()
    names: set[str] = set()
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            for text in _strings(row):
                for label, target in _NAME.findall(text):
                    name = label or target
                    if _SHAPED.match(name) and not name.startswith("farore"):
                        names.add(name)
    return tuple(sorted(names))


def routine_names() -> tuple[str, ...]:
    """The field's routine names where the field data is present, else none."""
    directory = field_data_dir()
    return mined_routine_names(str(directory) if directory else None)


# SNES register names (the official mnemonics) and game RAM, for the comments real code carries.
HARDWARE = {
    0x2100: "INIDISP",
    0x2101: "OBSEL",
    0x210D: "BG1HOFS",
    0x210E: "BG1VOFS",
    0x210F: "BG2HOFS",
    0x2110: "BG2VOFS",
    0x2115: "VMAIN",
    0x2116: "VMADDL/H",
    0x2117: "VMADDH",
    0x2118: "VMDATAL/H",
    0x2121: "CGADD",
    0x2122: "CGDATA",
    0x4202: "WRMPYA",
    0x4203: "WRMPYB",
    0x4204: "WRDIVL/H",
    0x4206: "WRDIVB",
    0x420B: "MDMAEN",
    0x420C: "HDMAEN",
    0x4210: "RDNMI",
    0x4211: "TIMEUP",
    0x4212: "HVBJOY",
    0x4214: "RDDIVL/H",
    0x4216: "RDMPYL/H",
    0x4218: "JOY1L/H",
    0x1CF0: "message id",
}
DMA_REGISTERS = {0: "DMAP{n}", 1: "BBAD{n}", 2: "A1T{n}L/H", 3: "A1T{n}H", 4: "A1B{n}", 5: "DAS{n}L/H", 6: "DAS{n}H"}

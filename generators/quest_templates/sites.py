"""Where a quest can hook the real game, found in the user's ROM map by what vanilla code does.

A quest needs places where the player's actions already reach code: an NPC's talk routine, the moment
an item is handed over, a scripted message. In ALttP those are calls to three vanilla routines, and
each call site is a ready-made hook: the ``JSL`` is exactly the 4 bytes a ``JSL`` to the quest needs,
starts and ends on instruction boundaries, and the quest's routine re-runs it (it *is* the displaced
instruction). The instructions before each call say how it is set up (``LDA.b #$2F`` / ``LDY.b #$01``:
8-bit registers and message $012F), so the hook knows the register widths it inherits.

Nothing here is a table of the game: every site is read from the map the user built from their own
disassembly, and a site the hack file already hooks is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from curation.errors import Invalid
from curation.rommap import Entry, RomMap

TALK = "Sprite_ShowSolicitedMessage"  # an NPC's line when the player talks to it (carry set: talked)
RECEIVE = "Link_ReceiveItem"  # Link holds up an item; Y = the item id
EVENT = "Sprite_ShowMessageUnconditional"  # a scripted message; A/Y = the message id
ROUTINES = (TALK, RECEIVE, EVENT)

_IMMEDIATE_8 = re.compile(r"^(LDA|LDY)\.b #\$([0-9A-Fa-f]{2})$")


@dataclass(frozen=True)
class Site:
    """One call site: the call, the routine it is in, and what its setup loads (message or item id)."""

    kind: str  # talk | receive | event
    call: Entry
    routine: str
    value: int  # the vanilla message id (talk, event) or item id (receive)

    @property
    def address(self) -> int:
        return self.call.address

    @property
    def callee(self) -> str:
        return self.call.text.split()[1]


@dataclass(frozen=True)
class QuestSites:
    talk: tuple[Site, ...]
    receive: tuple[Site, ...]
    event: tuple[Site, ...]

    def of(self, kind: str) -> tuple[Site, ...]:
        return {"talk": self.talk, "receive": self.receive, "event": self.event}[kind]


def _setup(before: list[Entry]) -> dict[str, int]:
    loads: dict[str, int] = {}
    for entry in before:
        match = _IMMEDIATE_8.match(entry.text)
        if match:
            loads[match.group(1)] = int(match.group(2), 16)
    return loads


def find_sites(rom_map: RomMap) -> QuestSites:
    """Every usable call site of the three routines: set up with 8-bit immediates (so the widths at the
    hook are known), not inside a hack's hook, and with no label pointing into the call's bytes."""
    missing = [name for name in ROUTINES if rom_map.address_of(name) is None]
    if missing:
        raise Invalid(f"the ROM map has no {', '.join(missing)}: build it from a usdasm-style ALttP disassembly")
    found: dict[str, list[Site]] = {"talk": [], "receive": [], "event": []}
    for kind, label in (("talk", TALK), ("receive", RECEIVE), ("event", EVENT)):
        for call, before in rom_map.calls_to(label):
            if not call.text.startswith("JSL") or rom_map.hack.hook_at(call.address):
                continue
            if rom_map.label_inside(call.address, call.end):
                continue
            loads = _setup(before)
            if kind == "receive" and "LDY" in loads:
                found[kind].append(Site(kind, call, call.routine, loads["LDY"]))
            elif kind != "receive" and {"LDA", "LDY"} <= loads.keys():
                found[kind].append(Site(kind, call, call.routine, loads["LDY"] << 8 | loads["LDA"]))
    return QuestSites(*(tuple(found[k]) for k in ("talk", "receive", "event")))


def require_map(rom_map: RomMap | None) -> RomMap:
    if rom_map is None:
        raise Invalid(
            "quest_templates builds on your ROM map (hook sites, free save bytes, the vanilla routines): run "
            "`triforge rom-map build --disassembly DIR [--hack FILE]` first"
        )
    return rom_map


__all__ = ["EVENT", "RECEIVE", "TALK", "QuestSites", "Site", "find_sites", "require_map"]

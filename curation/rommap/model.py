"""The ROM map: what is at each address of the game, and who touches each byte of RAM and the save file.

Built once from the user's disassembly checkout (and their hack file) by ``triforge rom-map build``,
kept in the workspace (``rom-map/map.json.gz``), and read by the map-aware validators and the quest
proposer. It answers the questions an ALttP hacker answers in their head before accepting a patch:

* *what is here* - the instruction (or data) covering an address, its length, the routine it belongs
  to, so a hook can be checked to start and end on instruction boundaries inside code;
* *who writes this byte* - every vanilla instruction that names a RAM or save-file byte, so a quest
  flag in the player's name, a death counter or the slot marker is caught;
* *what is free* - the hack's declared free space and save bytes, and save bytes vanilla never names.

What it cannot know: bytes reached only through computed pointers or runtime data banks, tables whose
extent the code does not show, and anything the checkout does not disassemble (graphics, sound).
"""

from __future__ import annotations

import bisect
import functools
import gzip
import hashlib
import itertools
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from curation.rommap.hack import HackClaims
from curation.rommap.usdasm import Disassembly, accesses

FORMAT = 1
SAVE_START, SAVE_END = 0x7EF000, 0x7EF4FF  # the save file's working copy in WRAM
SRAM_START, SRAM_SLOT, SRAM_COPIES = 0x700000, 0x500, 6  # three slots and their backups
_TABLE_REACH = 0x40  # how far an indexed table is assumed to run when nothing names a byte after it


def rom_address(address: int) -> int:
    """The canonical ROM address: FastROM mirrors ($80-$FF) fold onto banks $00-$7F."""
    return address & 0x7FFFFF if address >= 0x800000 else address


def save_offset(address: int) -> int | None:
    """The save-file offset a WRAM or SRAM address stands for (SRAM slots fold onto the WRAM copy)."""
    if SAVE_START <= address <= SAVE_END:
        return address - SAVE_START
    if SRAM_START <= address < SRAM_START + SRAM_SLOT * SRAM_COPIES:
        return (address - SRAM_START) % SRAM_SLOT
    return None


@dataclass(frozen=True)
class Entry:
    """What covers one ROM address: an instruction or a data item."""

    address: int
    length: int
    text: str
    code: bool
    routine: str

    @property
    def end(self) -> int:
        return self.address + self.length

    def describe(self) -> str:
        return f"${self.address >> 16:02X}:{self.address & 0xFFFF:04X} {self.text} (in {self.routine or 'no routine'})"


@dataclass(frozen=True)
class Reference:
    """A vanilla instruction naming a byte: where it is, its text, its routine, and how it names it."""

    at: int
    text: str
    routine: str
    write: bool
    indexed: bool

    def describe(self) -> str:
        verb = "writes" if self.write else "reads"
        table = " (as a table base)" if self.indexed else ""
        return f"{self.routine} {verb} it{table}: ${self.at >> 16:02X}:{self.at & 0xFFFF:04X} {self.text}"


@dataclass
class RomMap:
    starts: list[int]
    lengths: list[int]
    texts: list[str]
    code: list[bool]
    routine_ids: list[int]
    routines: list[str]
    labels: dict[str, int]
    references: dict[int, list[Reference]]  # RAM/register/save byte -> vanilla instructions naming it
    save_use: dict[int, str]  # save offset -> why vanilla uses it
    hack: HackClaims = field(default_factory=HackClaims)
    source: str = ""
    fingerprint: str = ""

    # --- what is at a ROM address ---------------------------------------------------------------------

    def entry_at(self, address: int) -> Entry | None:
        """The instruction or data item covering ``address``, if the disassembly places one there."""
        address = rom_address(address)
        i = bisect.bisect_right(self.starts, address) - 1
        if i < 0 or address >= self.starts[i] + self.lengths[i]:
            return None
        return self._entry(i)

    def entries_between(self, start: int, end: int) -> list[Entry]:
        """Every entry overlapping [start, end)."""
        start, end = rom_address(start), rom_address(end)
        i = max(0, bisect.bisect_right(self.starts, start) - 1)
        found = []
        while i < len(self.starts) and self.starts[i] < end:
            if self.starts[i] + self.lengths[i] > start:
                found.append(self._entry(i))
            i += 1
        return found

    def calls_to(self, label: str) -> list[tuple[Entry, list[Entry]]]:
        """Every ``JSL``/``JSR`` to ``label`` in vanilla code, each with the (up to 3) instructions before it
        in the same routine: the call sites a hook can take over, and how their arguments are set up."""
        found = []
        wanted = {f"JSL {label}", f"JSR {label}"}
        for i, text in enumerate(self.texts):
            if text in wanted and self.code[i]:
                before = [
                    self._entry(j)
                    for j in range(max(0, i - 3), i)
                    if self.code[j] and self.routine_ids[j] == self.routine_ids[i]
                ]
                found.append((self._entry(i), before))
        return found

    def label_inside(self, start: int, end: int) -> str | None:
        """A label pointing strictly inside [start, end): a branch target a hook there would cut."""
        start, end = rom_address(start), rom_address(end)
        addresses, names = self._labels_by_address
        i = bisect.bisect_right(addresses, start)
        return names[i] if i < len(addresses) and addresses[i] < end else None

    def label_at(self, address: int) -> str | None:
        """The label naming exactly ``address``, if any."""
        address = rom_address(address)
        addresses, names = self._labels_by_address
        i = bisect.bisect_left(addresses, address)
        return names[i] if i < len(addresses) and addresses[i] == address else None

    @functools.cached_property
    def _labels_by_address(self) -> tuple[list[int], list[str]]:
        """The labels sorted by address (the first name where two share one): hooks ask per patch."""
        ordered = sorted(self.labels.items(), key=lambda item: item[1])
        addresses, names = [], []
        for name, address in ordered:
            if not addresses or addresses[-1] != address:
                addresses.append(address)
                names.append(name)
        return addresses, names

    def _entry(self, i: int) -> Entry:
        return Entry(self.starts[i], self.lengths[i], self.texts[i], self.code[i], self.routines[self.routine_ids[i]])

    def address_of(self, label: str) -> int | None:
        return self.labels.get(label)

    def routine_entries(self, label: str, limit: int = 64) -> list[Entry]:
        """The first ``limit`` entries of a routine, from its label on, while they stay in that routine."""
        start = self.labels.get(label)
        if start is None:
            return []
        i = bisect.bisect_left(self.starts, start)
        found = []
        while i < len(self.starts) and len(found) < limit and self.routines[self.routine_ids[i]] == label:
            found.append(self._entry(i))
            i += 1
        return found

    def in_vanilla_rom(self, address: int) -> bool:
        """Inside the banks the disassembly covers (a patch writing there overwrites something)."""
        address = rom_address(address)
        return bool(self.starts) and self.starts[0] <= address < self.starts[-1] + self.lengths[-1]

    # --- who uses a RAM or save byte ------------------------------------------------------------------

    def references_to(self, address: int) -> list[Reference]:
        return self.references.get(address, [])

    def writers_of(self, address: int) -> list[Reference]:
        return [r for r in self.references_to(address) if r.write]

    def vanilla_save_use(self, address: int) -> str | None:
        """Why vanilla uses the save byte at ``address`` (WRAM copy or SRAM), or None if it never names it."""
        offset = save_offset(address)
        return None if offset is None else self.save_use.get(offset)

    def free_save_bytes(self, start: int = 0x400, end: int = 0x4FD) -> list[int]:
        """Save bytes (as $7EF000 + offset) neither vanilla names nor the hack claims, between two offsets."""
        return [
            SAVE_START + offset
            for offset in range(start, end + 1)
            if offset not in self.save_use and self.hack.sram_claim(SAVE_START + offset) is None
        ]

    # --- for people -----------------------------------------------------------------------------------

    def describe(self, address: int) -> list[str]:
        """``rom-map show``: everything the map knows about one address."""
        lines: list[str] = []
        entry = self.entry_at(address)
        if entry is not None:
            kind = "instruction" if entry.code else "data"
            lines.append(f"{kind}: {entry.describe()}, {entry.length} byte(s) from ${entry.address:06X}")
            if entry.address != rom_address(address):
                lines.append(f"${address:06X} is byte {rom_address(address) - entry.address + 1} of it, not a boundary")
        free = self.hack.free(address)
        if free is not None:
            lines.append(f"free space declared by {self.hack.name or 'the hack'}: {free.note}".rstrip(": "))
        hook = self.hack.hook_at(address)
        if hook is not None:
            lines.append(f"already hooked by {self.hack.name or 'the hack'}: {hook.note}".rstrip(": "))
        claim = self.hack.sram_claim(address)
        if claim is not None:
            lines.append(f"save byte owned by {self.hack.name or 'the hack'}: {claim.name} ({claim.use})")
        use = self.vanilla_save_use(address)
        if use is not None:
            lines.append(f"vanilla save byte: {use}")
        for reference in self.references_to(address)[:12]:
            lines.append(reference.describe())
        extra = len(self.references_to(address)) - 12
        if extra > 0:
            lines.append(f"... and {extra} more instructions name it")
        label = self.label_at(address)
        if label:
            lines.insert(0, f"label: {label}")
        return lines or [f"${address:06X}: the map knows nothing here"]

    # --- persistence ----------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "starts": self.starts,
            "lengths": self.lengths,
            "texts": self.texts,
            "code": [int(c) for c in self.code],
            "routine_ids": self.routine_ids,
            "routines": self.routines,
            "labels": self.labels,
            "references": {
                str(target): [[r.at, r.text, r.routine, int(r.write), int(r.indexed)] for r in refs]
                for target, refs in self.references.items()
            },
            "save_use": {str(k): v for k, v in self.save_use.items()},
            "hack": self.hack.to_json(),
        }
        partial = path.with_suffix(".partial")
        with gzip.open(partial, "wt", encoding="utf-8", compresslevel=5) as handle:
            json.dump(payload, handle, separators=(",", ":"))
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> RomMap:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        return cls(
            starts=data["starts"],
            lengths=data["lengths"],
            texts=data["texts"],
            code=[bool(c) for c in data["code"]],
            routine_ids=data["routine_ids"],
            routines=data["routines"],
            labels=data["labels"],
            references={
                int(t): [Reference(a, text, routine, bool(w), bool(i)) for a, text, routine, w, i in refs]
                for t, refs in data["references"].items()
            },
            save_use={int(k): v for k, v in data["save_use"].items()},
            hack=HackClaims.from_json(data["hack"]),
            source=data["source"],
            fingerprint=data["fingerprint"],
        )


def build_map(disassembly: Disassembly, hack: HackClaims | None = None, source: str = "") -> RomMap:
    """The map of a disassembly (see the module docstring), with the hack's claims."""
    routines: list[str] = []
    routine_index: dict[str, int] = {}
    starts, lengths, texts, code, routine_ids = [], [], [], [], []
    references: dict[int, list[Reference]] = defaultdict(list)
    digest = hashlib.sha256()
    for line in disassembly.lines:
        if starts and line.address < starts[-1] + lengths[-1]:
            continue  # an overlapping line (a second listing of the same bytes): the first one stands
        if line.routine not in routine_index:
            routine_index[line.routine] = len(routines)
            routines.append(line.routine)
        starts.append(line.address)
        lengths.append(line.length)
        texts.append(line.text)
        code.append(line.mnemonic is not None)
        routine_ids.append(routine_index[line.routine])
        digest.update(f"{line.address}:{line.text}\n".encode())
        for access in accesses(line, disassembly.defines):
            references[access.target].append(
                Reference(line.address, line.text, line.routine, access.write, access.indexed)
            )
    claims = hack or HackClaims()
    digest.update(json.dumps(claims.to_json(), sort_keys=True).encode())
    return RomMap(
        starts,
        lengths,
        texts,
        code,
        routine_ids,
        routines,
        dict(disassembly.labels),
        dict(references),
        _save_use(references),
        claims,
        source,
        digest.hexdigest()[:16],
    )


def _save_use(references: dict[int, list[Reference]]) -> dict[int, str]:
    """Which save offsets vanilla uses, and why: bytes it names (in the WRAM copy or an SRAM slot),
    the odd byte between two named ones two apart (a 16-bit access), and the bytes after a table base
    up to the next named byte. A table base at the start of a page is a block copy of the whole save
    file (load, save, erase), which says nothing about any one byte, so it extends nothing."""
    named: dict[int, Reference] = {}
    bases: dict[int, Reference] = {}
    for target, refs in references.items():
        offset = save_offset(target)
        if offset is None:
            continue
        for ref in refs:
            named.setdefault(offset, ref)
            if ref.indexed and offset % 0x100:
                bases.setdefault(offset, ref)
    use = {offset: ref.describe() for offset, ref in named.items()}
    ordered = sorted(named)
    for low, high in itertools.pairwise(ordered):
        if high - low == 2 and low + 1 not in use:
            use[low + 1] = f"high byte of a 16-bit value at offset ${low:03X}: {named[low].describe()}"
    for base, ref in bases.items():
        following = next((o for o in ordered if o > base), base + _TABLE_REACH + 1)
        for offset in range(base + 1, min(following, base + _TABLE_REACH + 1)):
            use.setdefault(offset, f"in the table at offset ${base:03X}: {ref.describe()}")
    return use


def fingerprint_files(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


__all__ = ["Entry", "Reference", "RomMap", "build_map", "rom_address", "save_offset"]

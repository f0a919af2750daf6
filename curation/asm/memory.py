"""A LoROM SNES memory map for running small routines, with everything surprising recorded.

Why record instead of fail: a validator runs untrusted, often buggy routines. A write to ROM, a read
from an unmapped address or a poke at a PPU register is a *finding* about the routine, not a reason
to crash the interpreter - so each is appended to a list the validator can inspect afterwards.

Map (24-bit addresses, LoROM):

* WRAM, 128 KiB at ``$7E0000-$7FFFFF``; its low 8 KiB mirrored at ``$0000-$1FFF`` of banks
  ``$00-$3F`` and ``$80-$BF``.
* ROM at ``$8000-$FFFF`` of banks ``$00-$7D`` and ``$80-$FF``: offset ``(bank & $7F) * $8000 +
  (address - $8000)``. Addresses past the end of the ROM image read as unmapped (no mirroring).
* SRAM at ``$0000-$7FFF`` of banks ``$70-$7D`` (default 32 KiB, mirrored when smaller).
* Hardware registers ``$2100-$21FF`` and ``$4200-$44FF`` in banks ``$00-$3F``/``$80-$BF``: stubs.
  Writes are appended to :attr:`Memory.register_writes`; reads come from :attr:`Memory.register_values`
  (keyed by the 16-bit register address, default 0) and are logged in :attr:`Memory.register_reads`.
* Everything else is open bus, simplified to 0; such reads and writes are logged.

Speed: reads and writes go through a table of 4 KiB pages (4096 entries for the 16 MiB space). A page
that is plain WRAM, SRAM or ROM holds a ``memoryview`` of its bytes, so the common case is one list
index and one buffer index; every other page (registers, unmapped, ROM for writes) takes the slow,
logging path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

WRAM_SIZE = 0x20000
WRAM_BASE = 0x7E0000
PAGE_BITS = 12
PAGE_SIZE = 1 << PAGE_BITS
PAGE_MASK = PAGE_SIZE - 1
_PAGES = 1 << (24 - PAGE_BITS)

# Region kinds returned by Memory.locate.
WRAM = "wram"
ROM = "rom"
SRAM = "sram"
REGISTER = "register"
UNMAPPED = "unmapped"


@dataclass(frozen=True)
class MemorySnapshot:
    """Copies of the writable memories at one point in time (see :meth:`Memory.snapshot`)."""

    wram: bytes
    sram: bytes


@dataclass(frozen=True)
class ByteChange:
    """One byte that differs between two snapshots, at the canonical 24-bit address of its region."""

    address: int
    before: int
    after: int

    def __str__(self) -> str:
        return f"${self.address:06X}: ${self.before:02X} -> ${self.after:02X}"


def _is_system_bank(bank: int) -> bool:
    """Banks $00-$3F and $80-$BF carry the WRAM mirror and the hardware registers."""
    return (bank & 0x40) == 0


def _is_register(address16: int) -> bool:
    return 0x2100 <= address16 <= 0x21FF or 0x4200 <= address16 <= 0x44FF


def locate(address: int, rom_size: int, sram_size: int) -> tuple[str, int]:
    """Which region a 24-bit address falls in and the offset inside that region's buffer."""
    bank = (address >> 16) & 0xFF
    low = address & 0xFFFF
    if bank in (0x7E, 0x7F):
        return WRAM, address - WRAM_BASE
    if low >= 0x8000:
        offset = (bank & 0x7F) * 0x8000 + (low - 0x8000)
        return (ROM, offset) if offset < rom_size else (UNMAPPED, 0)
    if _is_system_bank(bank):
        if low < 0x2000:
            return WRAM, low
        if _is_register(low):
            return REGISTER, low
        return UNMAPPED, 0
    if 0x70 <= bank <= 0x7D and sram_size:
        return SRAM, ((bank - 0x70) * 0x8000 + low) % sram_size
    return UNMAPPED, 0


@functools.cache
def _page_layout(sram_size: int) -> tuple[tuple[str, int], ...]:
    """(region, offset) of every 4 KiB page with the ROM taken as full-size (cached per SRAM size)."""
    return tuple(locate(page << PAGE_BITS, 1 << 30, sram_size) for page in range(_PAGES))


class Memory:
    """The 24-bit address space of a LoROM cartridge plus WRAM, with logs of every odd access."""

    def __init__(self, rom: bytes = b"", *, sram_size: int = 0x8000) -> None:
        self.wram = bytearray(WRAM_SIZE)
        self.rom = bytearray(rom)
        self.sram = bytearray(sram_size)
        self.register_values: dict[int, int] = {}
        self.register_writes: list[tuple[int, int]] = []
        self.register_reads: list[int] = []
        self.rom_writes: list[tuple[int, int]] = []
        self.unmapped_reads: list[int] = []
        self.unmapped_writes: list[tuple[int, int]] = []
        # Fast-path page tables; mutated in place so closures holding them stay valid.
        self.read_pages: list[memoryview | None] = [None] * _PAGES
        self.write_pages: list[memoryview | None] = [None] * _PAGES
        self._build_pages()

    def restore(self, rom: bytes) -> None:
        """Back to the state ``Memory(rom)`` starts in, reusing the buffers and page tables: cleared WRAM
        and SRAM, the image as given, empty logs (rebuilding 4,096 pages per scenario costs more than
        running a short routine)."""
        if len(rom) == len(self.rom):
            self.rom[:] = rom
        else:
            self.rom = bytearray(rom)
            self._build_pages()
        self.wram[:] = bytes(len(self.wram))
        self.sram[:] = bytes(len(self.sram))
        self.register_values.clear()
        for log in (self.register_writes, self.register_reads, self.rom_writes, self.unmapped_reads,
                    self.unmapped_writes):  # fmt: skip
            log.clear()

    # ----------------------------------------------------------------- mapping

    def locate(self, address: int) -> tuple[str, int]:
        """Which region a 24-bit address falls in here, and the offset inside that region's buffer."""
        return locate(address, len(self.rom), len(self.sram))

    def _build_pages(self) -> None:
        """Point every 4 KiB page that is plain memory at its bytes; the rest stay None (slow path)."""
        buffers = {WRAM: self.wram, ROM: self.rom, SRAM: self.sram}
        sizes = {WRAM: WRAM_SIZE, ROM: len(self.rom), SRAM: len(self.sram) if len(self.sram) % PAGE_SIZE == 0 else 0}
        # Mirrors share one view per (region, offset): 256 banks map onto few distinct pages.
        shared: dict[tuple[str, int], memoryview] = {}
        for page, (kind, offset) in enumerate(_page_layout(len(self.sram))):
            view = None
            # Regions are page-aligned, so a page is one contiguous run unless the buffer ends inside it.
            if kind in sizes and offset + PAGE_SIZE <= sizes[kind]:
                view = shared.get((kind, offset))
                if view is None:
                    view = shared[(kind, offset)] = memoryview(buffers[kind])[offset : offset + PAGE_SIZE]
            self.read_pages[page] = view
            self.write_pages[page] = None if kind == ROM else view

    # ----------------------------------------------------------------- access

    def read8(self, address: int) -> int:
        """Read one byte; registers and unmapped addresses are logged."""
        page = self.read_pages[address >> PAGE_BITS]
        if page is not None:
            return page[address & PAGE_MASK]
        return self.slow_read8(address)

    def slow_read8(self, address: int) -> int:
        """The logging read path for everything that is not a plain memory page."""
        kind, offset = self.locate(address)
        if kind == WRAM:
            return self.wram[offset]
        if kind == ROM:
            return self.rom[offset]
        if kind == SRAM:
            return self.sram[offset]
        if kind == REGISTER:
            self.register_reads.append(address)
            return self.register_values.get(offset, 0) & 0xFF
        self.unmapped_reads.append(address)
        return 0

    def write8(self, address: int, value: int) -> None:
        """Write one byte; ROM writes are refused and logged, register and unmapped writes logged."""
        page = self.write_pages[address >> PAGE_BITS]
        if page is not None:
            page[address & PAGE_MASK] = value & 0xFF
        else:
            self.slow_write8(address, value)

    def slow_write8(self, address: int, value: int) -> None:
        """The logging write path for everything that is not plain writable memory."""
        value &= 0xFF
        kind, offset = self.locate(address)
        if kind == WRAM:
            self.wram[offset] = value
        elif kind == SRAM:
            self.sram[offset] = value
        elif kind == ROM:
            self.rom_writes.append((address, value))
        elif kind == REGISTER:
            self.register_writes.append((address, value))
        else:
            self.unmapped_writes.append((address, value))

    def read16(self, address: int) -> int:
        """Little-endian word; the high byte comes from the next 24-bit address."""
        return self.read8(address) | self.read8((address + 1) & 0xFFFFFF) << 8

    def write16(self, address: int, value: int) -> None:
        self.write8(address, value)
        self.write8((address + 1) & 0xFFFFFF, value >> 8)

    def read24(self, address: int) -> int:
        return self.read16(address) | self.read8((address + 2) & 0xFFFFFF) << 16

    def peek(self, address: int, count: int = 1) -> bytes:
        """Bytes as the CPU would read them, without logging anything (for traces and reports)."""
        out = bytearray()
        for i in range(count):
            kind, offset = self.locate((address + i) & 0xFFFFFF)
            if kind == WRAM:
                out.append(self.wram[offset])
            elif kind == ROM:
                out.append(self.rom[offset])
            elif kind == SRAM:
                out.append(self.sram[offset])
            elif kind == REGISTER:
                out.append(self.register_values.get(offset, 0) & 0xFF)
            else:
                out.append(0)
        return bytes(out)

    # ----------------------------------------------------------------- set-up

    def load(self, address: int, data: bytes) -> None:
        """Place bytes at a 24-bit address - into WRAM, SRAM, or ROM (growing the image as needed).

        This is set-up, not a CPU write: ROM is writable here, nothing is logged, and loading into a
        register or unmapped address raises ``ValueError``.
        """
        end_rom = 0
        for i in range(len(data)):
            addr = (address + i) & 0xFFFFFF
            bank, low = addr >> 16, addr & 0xFFFF
            if low >= 0x8000 and bank not in (0x7E, 0x7F):
                end_rom = max(end_rom, (bank & 0x7F) * 0x8000 + (low - 0x8000) + 1)
        if end_rom > len(self.rom):
            self._grow_rom(end_rom)
        for i, value in enumerate(data):
            addr = (address + i) & 0xFFFFFF
            kind, offset = self.locate(addr)
            if kind == WRAM:
                self.wram[offset] = value
            elif kind == SRAM:
                self.sram[offset] = value
            elif kind == ROM:
                self.rom[offset] = value
            else:
                raise ValueError(f"cannot load into ${addr:06X} ({kind})")

    def _grow_rom(self, size: int) -> None:
        """Extend the ROM image to whole 32 KiB banks; pages are rebuilt (memoryviews pin the old buffer)."""
        size = -(-size // 0x8000) * 0x8000
        grown = bytearray(size)
        grown[: len(self.rom)] = self.rom
        self.rom = grown
        self._build_pages()

    def set_vector(self, address16: int, target16: int) -> None:
        """Write a 16-bit interrupt vector (e.g. $FFE6 for native BRK) in bank 0's ROM."""
        self.load(address16, target16.to_bytes(2, "little"))

    # ----------------------------------------------------------------- diffs

    def snapshot(self) -> MemorySnapshot:
        """Copy WRAM and SRAM so a later :meth:`changes_since` can say which bytes a routine touched."""
        return MemorySnapshot(bytes(self.wram), bytes(self.sram))

    def changes_since(self, before: MemorySnapshot) -> list[ByteChange]:
        return diff_snapshots(before, self.snapshot())


def _changed(before: bytes, after: bytes, to_address: Callable[[int], int]) -> list[ByteChange]:
    """Compare in 256-byte chunks first: a routine touches a few bytes of 128 KiB."""
    changes = []
    for start in range(0, len(before), 256):
        if before[start : start + 256] != after[start : start + 256]:
            for i in range(start, min(start + 256, len(before))):
                if before[i] != after[i]:
                    changes.append(ByteChange(to_address(i), before[i], after[i]))
    return changes


def diff_snapshots(before: MemorySnapshot, after: MemorySnapshot) -> list[ByteChange]:
    """Every WRAM ($7E0000-$7FFFFF) and SRAM ($70:0000...) byte that differs, in address order."""
    changes = _changed(before.sram, after.sram, lambda i: (0x70 + i // 0x8000) << 16 | (i % 0x8000))
    changes += _changed(before.wram, after.wram, lambda i: WRAM_BASE + i)
    return changes

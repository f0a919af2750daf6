"""What a ROM patch in an answer does to the ROM, read back from the real assembler.

A patch (``org $05E1A7`` + ``JSL Hook`` and a routine in ``freecode``) is assembled with Asar twice,
onto two images that differ in every byte of the vanilla ROM area (1 MiB filled with $55, then with
$AA) and share an empty expansion (1 MiB of zeros, where ``freecode`` finds room). A byte that comes
out different from its image in either run was written by the patch - whatever value it wrote -
so the checks see exactly which vanilla bytes a hook overwrites and where its new code went, without
the game's ROM. Labels the patch uses but does not define (``JSL Sprite_ShowMessageUnconditional``)
are taken from the ROM map, as the user's build would take them from the disassembly.

Shared by ``rom_patch`` (hooks, free space) and ``sram_ownership`` / ``alttp_conventions`` (which read
the patch's instructions).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from curation.asm.mnemonics import MNEMONICS
from curation.rommap import RomMap
from curation.rommap.usdasm import place_operand
from curation.validators.asar import Asar, AsmDiagnostic
from curation.validators.text import CodeBlock, code_blocks
from schemas.sample import SampleRevision

VANILLA_SIZE = 1 << 20  # ALttP's 1 MiB LoROM
EXPANDED_SIZE = VANILLA_SIZE + (256 << 10)  # room for freecode: eight 32 KiB banks past the vanilla ROM
_CHECKSUM = range(0x7FDC, 0x7FE0)  # Asar rewrites the header checksum: not the patch's doing
_PATCH = re.compile(r"^\s*(org|pushpc|freecode|freedata|freespace)\b", re.I | re.M)
_ORG = re.compile(r"^\s*org\s+\$([0-9A-Fa-f]{6}|[0-9A-Fa-f]{2}:[0-9A-Fa-f]{4})\b", re.I | re.M)
_FREE = re.compile(r"^\s*(freecode|freedata|freespace)\b", re.I | re.M)
_DEFINED = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?::|=)", re.M)
_IDENTIFIER = re.compile(r"(?<![\w.!$#%])([A-Za-z_][A-Za-z0-9_]{2,})\b")
_MAPPING = re.compile(r"^\s*(lorom|hirom|exlorom|exhirom|sa1rom|fullsa1rom|norom)\b", re.I | re.M)


def snes_address(offset: int) -> int:
    """The LoROM CPU address of a ROM file offset."""
    return ((offset // 0x8000) << 16) | (0x8000 + offset % 0x8000)


def rom_offset(address: int) -> int:
    address &= 0x7FFFFF
    return (address >> 16) * 0x8000 + (address & 0x7FFF)


def patch_blocks(revision: SampleRevision) -> list[CodeBlock]:
    """The answer's asm blocks that patch the ROM (an ``org``, ``pushpc`` or free-space command)."""
    return [b for b in code_blocks(revision.answer) if b.is_asm and _PATCH.search(b.code)]


@dataclass(frozen=True)
class Run:
    """A contiguous range of ROM bytes the patch writes, as CPU addresses [start, end)."""

    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class PatchWrites:
    """The outcome of assembling a patch: the image after it, and what it wrote."""

    ok: bool
    errors: list[AsmDiagnostic]
    warnings: list[AsmDiagnostic]
    image: bytes  # the first run's image (vanilla area $55), for reading the new code back
    vanilla_runs: list[Run]  # bytes written inside the vanilla ROM
    expansion_runs: list[Run]  # bytes written in the expansion
    orgs: list[int]  # the addresses the patch's ``org`` lines name
    uses_free_space_commands: bool
    resolved_labels: dict[str, int]

    def read(self, address: int, size: int) -> bytes:
        offset = rom_offset(address)
        return self.image[offset : offset + size]


@functools.cache
def _bases() -> tuple[bytes, bytes]:
    expansion = bytes(EXPANDED_SIZE - VANILLA_SIZE)
    return bytes([0x55]) * VANILLA_SIZE + expansion, bytes([0xAA]) * VANILLA_SIZE + expansion


@functools.cache
def shared_asar() -> Asar:
    """The assembler the map-aware checks share (thread-safe: each run is its own process)."""
    return Asar()


def _runs(offsets: np.ndarray) -> list[Run]:
    if offsets.size == 0:
        return []
    breaks = np.nonzero(np.diff(offsets) != 1)[0]
    starts = np.concatenate(([offsets[0]], offsets[breaks + 1]))
    ends = np.concatenate((offsets[breaks], [offsets[-1]])) + 1
    runs = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        # A run never crosses a bank in CPU space: split at each 32 KiB ROM bank.
        while start < end:
            stop = min(end, (start // 0x8000 + 1) * 0x8000)
            runs.append(Run(snes_address(start), snes_address(stop - 1) + 1))
            start = stop
    return runs


def label_definitions(code: str, rom_map: RomMap | None) -> tuple[list[str], dict[str, int]]:
    """``Name = $BBAAAA`` lines for the labels ``code`` uses, does not define, and the map knows."""
    if rom_map is None:
        return [], {}
    defined = {m.group(1) for m in _DEFINED.finditer(code)}
    used = {m.group(1) for m in _IDENTIFIER.finditer(re.sub(r";.*", "", code))}
    resolved = {name: rom_map.labels[name] for name in sorted(used - defined) if name in rom_map.labels}
    return [f"{name} = ${address:06X}" for name, address in resolved.items()], resolved


def patch_source(code: str, rom_map: RomMap | None) -> tuple[str, int, dict[str, int]]:
    """The source Asar gets for a patch: ``lorom`` unless it maps itself, then the map's addresses of the
    labels it uses but does not define, then the code. Returns (source, lines added before the code,
    the labels resolved)."""
    definitions, resolved = label_definitions(code, rom_map)
    head = ([] if _MAPPING.search(code) else ["lorom"]) + definitions
    return "\n".join([*head, code]) + "\n", len(head), resolved


def assemble_patch(code: str, rom_map: RomMap | None, asar: Asar | None = None) -> PatchWrites:
    """Assemble ``code`` (a patch as written) onto both images and diff them (see the module docstring)."""
    source, shift, resolved = patch_source(code, rom_map)
    asar = asar or shared_asar()
    base_a, base_b = _bases()
    first, second = asar.assemble_each(source, [base_a, base_b])
    errors = [AsmDiagnostic(e.line - shift if e.line else None, e.code, e.message) for e in first.errors]
    warnings = [AsmDiagnostic(w.line - shift if w.line else None, w.code, w.message) for w in first.warnings]
    orgs = [int(m.group(1).replace(":", ""), 16) for m in _ORG.finditer(code)]
    if not (first.ok and second.ok):  # the second image only fails where the first did (or timed out)
        errors = errors or [AsmDiagnostic(None, e.code, e.message) for e in second.errors]
        return PatchWrites(False, errors, warnings, first.rom, [], [], orgs, bool(_FREE.search(code)), resolved)
    a = np.frombuffer(first.rom, dtype=np.uint8)
    b = np.frombuffer(second.rom, dtype=np.uint8)
    size = min(len(a), len(b), EXPANDED_SIZE)
    changed = (a[:size] != np.frombuffer(base_a, dtype=np.uint8)[:size]) | (
        b[:size] != np.frombuffer(base_b, dtype=np.uint8)[:size]
    )
    changed[_CHECKSUM.start : _CHECKSUM.stop] = False
    offsets = np.nonzero(changed)[0]
    vanilla = offsets[offsets < VANILLA_SIZE]
    expansion = offsets[offsets >= VANILLA_SIZE]
    return PatchWrites(
        True,
        errors,
        warnings,
        first.rom,
        _runs(vanilla),
        _runs(expansion),
        orgs,
        bool(_FREE.search(code)),
        resolved,
    )


_DEFINE_LINE = re.compile(r"^\s*!([A-Za-z_]\w*)\s*[:?]?=\s*(\S+)", re.M)
_INSTRUCTION = re.compile(r"^\s*(?:[A-Za-z_.][\w.]*:\s*)?([A-Za-z]{3})(?:\.([bwlBWL]))?\b\s*([^;]*)")
_GLOBAL_LABEL = re.compile(r"^([A-Za-z_]\w*):")
_LONG_OPERAND = re.compile(r"^\$([0-9A-Fa-f]{6})(?:\s*,\s*([XYxy]))?$")
_SHORT_OPERAND = re.compile(r"^\$([0-9A-Fa-f]{2,4})(?:\s*,\s*([XYxy]))?$")


@dataclass(frozen=True)
class Instruction:
    """One instruction of a patch as written: its line in the block, mnemonic, operand (defines expanded)."""

    line: int
    mnemonic: str
    operand: str
    text: str
    routine: str = ""  # the last global label above it (``.local`` and ``+``/``-`` labels are inside routines)

    @property
    def address(self) -> int | None:
        """The RAM, save or register byte the operand names directly: long as written, absolute and
        direct-page operands below $2000 in bank $7E (the WRAM mirror), registers in bank $00."""
        long = _LONG_OPERAND.match(self.operand)
        if long:
            return place_operand(int(long.group(1), 16), 6)
        short = _SHORT_OPERAND.match(self.operand)
        if short and not self.operand.startswith("#"):
            return place_operand(int(short.group(1), 16), len(short.group(1)))
        return None


def parse_instructions(code: str) -> list[Instruction]:
    """The instructions of a block, with ``!define`` operands replaced by their values. Lines that are
    labels, directives or data give nothing; the line numbers are the block's, from 1."""
    defines = {m.group(1): m.group(2) for m in _DEFINE_LINE.finditer(code)}
    found = []
    routine = ""
    for number, raw in enumerate(code.split("\n"), 1):
        text = raw.split(";", 1)[0].strip()
        if not text or text.startswith("!"):
            continue
        label = _GLOBAL_LABEL.match(text)
        if label:
            routine = label.group(1)
            text = text[label.end() :].strip()
            if not text:
                continue
        match = _INSTRUCTION.match(text)
        if not match or match.group(1).upper() not in MNEMONICS:
            continue
        operand = match.group(3).strip()
        operand = re.sub(r"!([A-Za-z_]\w*)", lambda m: defines.get(m.group(1), m.group(0)), operand)
        found.append(Instruction(number, match.group(1).upper(), operand, text, routine))
    return found


__all__ = [
    "Instruction",
    "PatchWrites",
    "Run",
    "assemble_patch",
    "label_definitions",
    "parse_instructions",
    "patch_blocks",
    "patch_source",
    "rom_offset",
    "shared_asar",
    "snes_address",
]

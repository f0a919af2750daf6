"""Read a usdasm-style disassembly checkout: every line the assembler places starts with its address.

The US disassembly of *A Link to the Past* (and disassemblies written in its style) prefix each
instruction and data line with the ROM address it assembles to (``#_05E1A7: STA.w $1CF0``), name
routines with column-0 labels (``Sprite_ShowMessageUnconditional:``) and their branch targets with
``.sublabels``, and keep register names in ``NAME = $00XXXX`` defines. That is all a ROM map needs:

* instruction boundaries and lengths - the distance to the next addressed line (the text gives the
  length too, and is used where the next line is far away);
* code versus data - a 65816 mnemonic versus ``db``/``dw``/``dl``/``incbin``; lines carrying a second,
  CPU-local address (``#_19FBCE: #_0800: mov ...``, the sound CPU's code) are data to the 65816;
* the routine each address belongs to, and every label's address;
* which RAM each instruction reads or writes, from its operand (long, absolute, direct page).

Nothing here is specific to one game beyond the defaults of :mod:`curation.rommap.memory`; the
checkout is the user's, read at build time, and never copied into the project.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from curation.asm.mnemonics import MNEMONICS
from curation.errors import Invalid

_LINE = re.compile(r"^#_([0-9A-Fa-f]{6}):\s?(?:(#_[0-9A-Fa-f]{4}:)\s?)?(.*)$")
_LABEL = re.compile(r"^([A-Za-z_][\w]*):")
_POOL = re.compile(r"^pool\s+([A-Za-z_][\w]*)")
_SUBLABEL = re.compile(r"^\.([A-Za-z_][\w]*)\b")
_DEFINE = re.compile(r"^([A-Za-z_][\w]*)\s*=\s*\$([0-9A-Fa-f]{1,6})\b")
_INLINE_LABEL = re.compile(r"^([A-Za-z_][\w]*):\s*")
_MNEMONIC = re.compile(r"^([A-Z]{3})(?:\.([bwl]))?(?:\s+(.*))?$")
_DATA = re.compile(r"^(db|dw|dl|dd)\b\s*(.*)$", re.I)

WRITES = frozenset(["STA", "STX", "STY", "STZ", "INC", "DEC", "ASL", "LSR", "ROL", "ROR", "TSB", "TRB"])
_FLOW = frozenset(
    [
        "JSR",
        "JSL",
        "JMP",
        "JML",
        "BRA",
        "BRL",
        "BCC",
        "BCS",
        "BEQ",
        "BMI",
        "BNE",
        "BPL",
        "BVC",
        "BVS",
        "PEA",
        "PER",
        "MVN",
        "MVP",
    ]
)
_DATA_SIZE = {"db": 1, "dw": 2, "dl": 3, "dd": 4}


@dataclass(frozen=True)
class Line:
    """One addressed line: an instruction (``mnemonic`` set) or data, with its routine and labels."""

    address: int
    length: int
    text: str  # without the address, the comment or an inline label
    mnemonic: str | None
    routine: str
    file: str
    line: int


@dataclass(frozen=True)
class Access:
    """A RAM/register byte an instruction names: ``write`` also for read-modify-write, ``indexed``
    when the operand is a table base (``STA.l $7EF3E7,X``)."""

    target: int
    at: int  # the instruction's address
    write: bool
    indexed: bool
    width_hint: str  # b, w, l, or "" (the operand's size suffix)


@dataclass
class Disassembly:
    lines: list[Line]
    labels: dict[str, int]  # routine labels and Routine.sublabel names -> address
    defines: dict[str, int]  # register and constant names -> value
    files: list[str]


def _strip_comment(text: str) -> str:
    return text.split(";", 1)[0].rstrip()


def _estimate_length(mnemonic: str, size: str | None, operand: str) -> int:
    """An instruction's length from its text, for the few whose next line is far away."""
    operand = operand.strip()
    if not operand or operand == "A":
        return 2 if mnemonic in ("BRK", "COP", "WDM") else 1
    if mnemonic in ("MVN", "MVP", "BRL", "PER", "PEA"):
        return 3
    if mnemonic in ("JSL", "JML") or size == "l":
        return 4
    if mnemonic in ("BRA", "BCC", "BCS", "BEQ", "BMI", "BNE", "BPL", "BVC", "BVS", "REP", "SEP", "PEI"):
        return 2
    if operand.startswith("#"):
        digits = len(re.sub(r"[^0-9A-Fa-f]", "", operand.split(",")[0]))
        return 3 if size == "w" or digits > 2 else 2
    return {"b": 2, "w": 3}.get(size or "", 3)


def _data_length(kind: str, operands: str) -> int:
    items = [p for p in re.split(r",(?![^()]*\))", operands) if p.strip()]
    return _DATA_SIZE[kind.lower()] * max(1, len(items))


def _files(checkout: Path) -> list[Path]:
    files = sorted(p for p in checkout.glob("*.asm") if p.is_file())
    if not files:
        raise Invalid(f"{checkout}: no .asm files - point --disassembly at a usdasm-style checkout")
    return files


def read_defines(checkout: Path) -> dict[str, int]:
    """``NAME = $XXXXXX`` lines (register names such as ``JOY1H = $004219``)."""
    defines: dict[str, int] = {}
    for path in _files(checkout):
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            match = _DEFINE.match(raw)
            if match:
                defines[match.group(1)] = int(match.group(2), 16)
    return defines


def read_checkout(checkout: Path) -> Disassembly:
    """Every addressed line of every ``.asm`` file, with lengths, routines and labels."""
    checkout = Path(checkout)
    if not checkout.is_dir():
        raise Invalid(f"{checkout}: not a folder - point --disassembly at a usdasm-style checkout")
    files = _files(checkout)
    defines = read_defines(checkout)
    raw_lines: list[tuple[int, str, str | None, str, str, int, str | None, str]] = []
    labels: dict[str, int] = {}
    for path in files:
        routine = ""
        pending: list[str] = []  # labels waiting for the next addressed line
        for number, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            match = _LINE.match(raw)
            if not match:
                pool = _POOL.match(raw)
                if pool:
                    if pool.group(1) != "off":
                        routine = pool.group(1)  # a routine's data pool: its tables belong to it
                    continue
                label = _LABEL.match(raw)
                if label and not raw.startswith(" "):
                    routine = label.group(1)
                    pending.append(routine)
                    continue
                sub = _SUBLABEL.match(raw.strip())
                if sub and routine:
                    pending.append(f"{routine}.{sub.group(1)}")
                continue
            address = int(match.group(1), 16)
            text = _strip_comment(match.group(3))
            inline = _INLINE_LABEL.match(text)
            if inline and not _MNEMONIC.match(text):
                pending.append(inline.group(1))
                text = text[inline.end() :]
            for name in pending:
                labels.setdefault(name, address)
            pending = []
            mnemonic: str | None = None
            size: str | None = None
            operand = ""
            foreign_cpu = match.group(2) is not None  # the sound CPU's code, data to the 65816
            code = _MNEMONIC.match(text)
            if code and not foreign_cpu and code.group(1) in MNEMONICS:
                mnemonic, size, operand = code.group(1), code.group(2), code.group(3) or ""
            raw_lines.append((address, text, mnemonic, routine, path.name, number, size, operand))
    raw_lines.sort(key=lambda item: item[0])
    lines: list[Line] = []
    for i, (address, text, mnemonic, routine, file, number, size, operand) in enumerate(raw_lines):
        following = raw_lines[i + 1][0] if i + 1 < len(raw_lines) else None
        gap = following - address if following is not None else None
        if mnemonic:
            estimate = _estimate_length(mnemonic, size, operand)
            length = gap if gap is not None and 0 < gap <= 4 else estimate
        else:
            data = _DATA.match(text)
            if gap is not None and 0 < gap <= 0x10000:
                length = gap
            else:
                length = _data_length(data.group(1), data.group(2)) if data else 1
        lines.append(Line(address, length, text, mnemonic, routine, file, number))
    return Disassembly(lines, labels, defines, [p.name for p in files])


_OPERAND_ADDRESS = re.compile(r"^\$([0-9A-Fa-f]{2,6})(,\s*([XYS]))?$")
_OPERAND_NAME = re.compile(r"^([A-Za-z_][\w]*)(,\s*([XY]))?$")


def accesses(line: Line, defines: dict[str, int]) -> Iterator[Access]:
    """The RAM or register byte ``line`` reads or writes, when its operand names one directly.

    Long operands are exact; absolute and direct-page ones are placed in bank $7E when below $2000
    (the WRAM mirror every bank $00-$3F shares) and in bank $00 when they are hardware registers;
    other absolute addresses depend on the data bank at run time and are left out."""
    if not line.mnemonic or line.mnemonic in _FLOW:
        return
    code = _MNEMONIC.match(line.text)
    if not code:
        return
    size, operand = code.group(2) or "", (code.group(3) or "").strip()
    if not operand or operand.startswith(("#", "(", "[")) or operand == "A":
        return
    match = _OPERAND_ADDRESS.match(operand)
    if match:
        if match.group(3) == "S":
            return  # stack relative
        digits, index = match.group(1), match.group(3)
        value = int(digits, 16)
        width = len(digits)
    else:
        named = _OPERAND_NAME.match(operand)
        if not named or named.group(1) not in defines:
            return
        value, index, width = defines[named.group(1)], named.group(3), 6
    target = place_operand(value, width)
    if target is None:
        return
    write = line.mnemonic in WRITES
    yield Access(target, line.address, write, index is not None, size)


def place_operand(value: int, digits: int) -> int | None:
    """The byte an operand of ``digits`` hex digits names: long ones as written (the low $2000 of banks
    $00-$3F/$80-$BF in the WRAM mirror at $7E), shorter ones below $2000 in bank $7E, hardware registers
    in bank $00; None for an absolute address the data bank decides at run time."""
    if digits >= 6 or value > 0xFFFF:
        bank, offset = value >> 16, value & 0xFFFF
        if (bank <= 0x3F or 0x80 <= bank <= 0xBF) and offset < 0x2000:
            return 0x7E0000 | offset
        return value
    if value < 0x2000:
        return 0x7E0000 | value
    if 0x2100 <= value <= 0x21FF or 0x4200 <= value <= 0x43FF:
        return value
    return None


__all__ = [
    "WRITES",
    "Access",
    "Disassembly",
    "Line",
    "accesses",
    "place_operand",
    "read_checkout",
    "read_defines",
]

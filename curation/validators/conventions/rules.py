"""The conventions ``alttp_conventions`` checks: each a small rule naming the vanilla routine to use.

A rule sees the block's instructions (``!defines`` expanded) and the ROM map (None before one is
built: rules then cite routines by name only) and returns findings with the line they are about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from curation.rommap import RomMap
from curation.rommap.usdasm import WRITES
from curation.validators.patches import Instruction


@dataclass(frozen=True)
class Finding:
    line: int | None
    message: str


Check = Callable[[list[Instruction], RomMap | None], list[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    severity: str
    summary: str
    check: Check


_STORES = {"STA", "STX", "STY", "STZ"}
_READS = {"LDA", "LDX", "LDY", "BIT", "AND", "ORA", "EOR", "CMP", "CPX", "CPY", "ADC", "SBC"}


def cite(rom_map: RomMap | None, label: str) -> str:
    """``Label ($BB:AAAA)`` from the user's map, or the bare name without one."""
    address = rom_map.address_of(label) if rom_map else None
    return f"{label} (${address >> 16:02X}:{address & 0xFFFF:04X})" if address is not None else label


def _calls(instructions: list[Instruction], names: tuple[str, ...], rom_map: RomMap | None) -> bool:
    targets = {rom_map.address_of(n) for n in names} - {None} if rom_map else set()
    for i in instructions:
        if i.mnemonic not in ("JSL", "JSR", "JML", "JMP"):
            continue
        operand = i.operand.split(";")[0].strip()
        if operand in names:
            return True
        if operand.startswith("$") and targets:
            try:
                if int(operand[1:], 16) in targets:
                    return True
            except ValueError:
                pass
    return False


MESSAGE_ROUTINES = (
    "Sprite_ShowMessageUnconditional",
    "Sprite_ShowSolicitedMessage",
    "Sprite_ShowMessageFromPlayerContact",
)


def message_without_routine(instructions: list[Instruction], rom_map: RomMap | None) -> list[Finding]:
    stores = [i for i in instructions if i.mnemonic in _STORES and i.address in (0x7E1CF0, 0x7E1CF1)]
    if not stores or _calls(instructions, MESSAGE_ROUTINES, rom_map):
        return []
    return [
        Finding(
            stores[0].line,
            f"`{stores[0].text}` only queues a message id: nothing shows it. Vanilla's "
            f"{cite(rom_map, 'Sprite_ShowMessageUnconditional')} stores A/Y to $1CF0/$1CF1 *and* switches the game "
            "into its text-box submodule ($10 = $0E, $11 = $02): call it with the id in A (low) and Y (high)",
        )
    ]


ITEM_BYTES = range(0x7EF340, 0x7EF390)
# Where vanilla itself expects a plain write: the rupee goal the HUD counts towards, the heart refill counter.
ITEM_BYTES_WRITTEN_DIRECTLY = {0x7EF360, 0x7EF361, 0x7EF372, 0x7EF373}


def item_poked(instructions: list[Instruction], rom_map: RomMap | None) -> list[Finding]:
    pokes = [
        i
        for i in instructions
        if i.mnemonic in WRITES and i.address in ITEM_BYTES and i.address not in ITEM_BYTES_WRITTEN_DIRECTLY
    ]
    if not pokes or _calls(instructions, ("Link_ReceiveItem",), rom_map):
        return []
    return [
        Finding(
            pokes[0].line,
            f"`{pokes[0].text}` pokes an item byte: the player gets no item animation, no sound, no text, and none of "
            f"the item's side effects (a heart container's refill, a bottle's slot). Grant it through "
            f"{cite(rom_map, 'Link_ReceiveItem')} with the item id in Y (and STZ $02E9)",
        )
    ]


def hdma_enable_direct(instructions: list[Instruction], rom_map: RomMap | None) -> list[Finding]:
    direct = [i for i in instructions if i.mnemonic in WRITES and i.address == 0x00420C]
    if not direct:
        return []
    writer = rom_map.writers_of(0x00420C)[0].routine if rom_map and rom_map.writers_of(0x00420C) else "the NMI"
    return [
        Finding(
            direct[0].line,
            f"`{direct[0].text}` writes HDMAEN directly: mid-frame it starts channels half-way and the NMI "
            f"overwrites it anyway - {writer} copies the mirror at $9B to $420C every frame: write $9B instead",
        )
    ]


JOYPAD_REGISTERS = range(0x004218, 0x004220)


def joypad_direct(instructions: list[Instruction], rom_map: RomMap | None) -> list[Finding]:
    reads = [i for i in instructions if i.mnemonic in _READS and i.address in JOYPAD_REGISTERS]
    if not reads:
        return []
    return [
        Finding(
            reads[0].line,
            f"`{reads[0].text}` reads the joypad registers from game code: they change under you, and 'newly "
            f"pressed' needs last frame's state. {cite(rom_map, 'NMI_ReadJoypads')} reads them once a frame into "
            "$F0/$F2 (held) and $F4/$F6 (newly pressed): read those",
        )
    ]


def widths_not_restored(instructions: list[Instruction], rom_map: RomMap | None) -> list[Finding]:
    """A routine that changes M/X with REP/SEP returns to a caller assembled for the old widths, unless it
    saved P first (PHP before its first REP/SEP) and every return comes right after a PLP."""
    findings: list[Finding] = []
    routines: dict[str, list[Instruction]] = {}
    for instruction in instructions:
        routines.setdefault(instruction.routine, []).append(instruction)
    for body in routines.values():
        changes = [i for i, ins in enumerate(body) if ins.mnemonic in ("REP", "SEP")]
        if not changes:
            continue
        saved = any(ins.mnemonic == "PHP" for ins in body[: changes[0]])
        for i, ins in enumerate(body):
            if ins.mnemonic not in ("RTS", "RTL"):
                continue
            if not (saved and any(b.mnemonic == "PLP" for b in body[max(0, i - 3) : i])):
                findings.append(
                    Finding(
                        body[changes[0]].line,
                        f"`{body[changes[0]].text}` changes the register widths and the routine returns with "
                        f"`{ins.text}` (line {ins.line}) without restoring them: wrap the body in PHP ... PLP so the "
                        "caller gets back the M/X flags its code was assembled for",
                    )
                )
                break
    return findings


RULES: tuple[Rule, ...] = (
    Rule(
        "message_without_routine",
        "1",
        "error",
        "a message id written without the message routine",
        message_without_routine,
    ),
    Rule("item_poked", "1", "error", "an item granted by poking its save byte", item_poked),
    Rule("hdma_enable_direct", "1", "error", "$420C written instead of its NMI mirror $9B", hdma_enable_direct),
    Rule("joypad_direct", "1", "error", "joypad registers read instead of the NMI's copies", joypad_direct),
    Rule("widths_not_restored", "2", "error", "M/X widths changed and not restored on return", widths_not_restored),
)

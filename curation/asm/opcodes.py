"""The 65816 opcode table, instruction lengths and an Asar-style disassembler.

Why a table of its own: an instruction's length on the 65816 depends on the M and X flags at the
moment it runs (``A9 3C 85`` is ``LDA #$3C`` + a new instruction with an 8-bit accumulator, but
``LDA #$853C`` with a 16-bit one). Validators need exactly that answer - "what does this byte
stream mean with these widths" - so the table is keyed by opcode and the length is a function of
the two width flags.

Disassembly follows Asar's syntax so a line can be fed back to the real assembler: explicit width
suffixes where Asar would otherwise guess (``LDA.b $10``, ``LDA.w $1234,X``, ``LDA.l $7EF3C5``),
immediates written with as many hex digits as they have bytes (Asar sizes ``#$12``/``#$1234`` by
digit count), branches and PER shown with their resolved target (``BRA $8010``), and block moves
with their two operand bytes in encoding order (``MVN $7E,$7F`` is ``54 7E 7F``: Asar writes the
operands in the order given; the first byte is the destination bank).
"""

from __future__ import annotations

from dataclasses import dataclass

# Addressing modes. The names are used by the CPU to pick an effective-address resolver.
IMPLIED = "imp"  # CLC, TAX, RTS ...
ACCUMULATOR = "acc"  # ASL A
IMMEDIATE_M = "imm_m"  # #$12 / #$1234 depending on M
IMMEDIATE_X = "imm_x"  # #$12 / #$1234 depending on X
IMMEDIATE_8 = "imm8"  # REP/SEP/BRK/COP/WDM: always one byte
IMMEDIATE_16 = "imm16"  # PEA $1234: a 16-bit value, written without '#'
DIRECT = "dp"  # $12
DIRECT_X = "dp_x"  # $12,X
DIRECT_Y = "dp_y"  # $12,Y
DIRECT_INDIRECT = "dp_ind"  # ($12)
DIRECT_INDIRECT_LONG = "dp_ind_long"  # [$12]
DIRECT_X_INDIRECT = "dp_x_ind"  # ($12,X)
DIRECT_INDIRECT_Y = "dp_ind_y"  # ($12),Y
DIRECT_INDIRECT_LONG_Y = "dp_ind_long_y"  # [$12],Y
ABSOLUTE = "abs"  # $1234
ABSOLUTE_X = "abs_x"  # $1234,X
ABSOLUTE_Y = "abs_y"  # $1234,Y
LONG = "long"  # $123456
LONG_X = "long_x"  # $123456,X
STACK_RELATIVE = "sr"  # $12,S
STACK_RELATIVE_INDIRECT_Y = "sr_ind_y"  # ($12,S),Y
ABSOLUTE_INDIRECT = "abs_ind"  # JMP ($1234)
ABSOLUTE_X_INDIRECT = "abs_x_ind"  # JMP/JSR ($1234,X)
ABSOLUTE_INDIRECT_LONG = "abs_ind_long"  # JML [$1234]
RELATIVE_8 = "rel8"  # BRA
RELATIVE_16 = "rel16"  # BRL, PER
BLOCK_MOVE = "block"  # MVN/MVP

# Operand bytes per mode; the two immediate modes are resolved by the width flags instead.
_OPERAND_BYTES: dict[str, int] = {
    IMPLIED: 0,
    ACCUMULATOR: 0,
    IMMEDIATE_8: 1,
    IMMEDIATE_16: 2,
    DIRECT: 1,
    DIRECT_X: 1,
    DIRECT_Y: 1,
    DIRECT_INDIRECT: 1,
    DIRECT_INDIRECT_LONG: 1,
    DIRECT_X_INDIRECT: 1,
    DIRECT_INDIRECT_Y: 1,
    DIRECT_INDIRECT_LONG_Y: 1,
    ABSOLUTE: 2,
    ABSOLUTE_X: 2,
    ABSOLUTE_Y: 2,
    LONG: 3,
    LONG_X: 3,
    STACK_RELATIVE: 1,
    STACK_RELATIVE_INDIRECT_Y: 1,
    ABSOLUTE_INDIRECT: 2,
    ABSOLUTE_X_INDIRECT: 2,
    ABSOLUTE_INDIRECT_LONG: 2,
    RELATIVE_8: 1,
    RELATIVE_16: 2,
    BLOCK_MOVE: 2,
}

# The opcode matrix, eight opcodes a line, each cell "MNEMONIC mode"; the "$xx:" prefix is for the reader.
_MATRIX = """
$00: BRK imm8 | ORA dp_x_ind | COP imm8 | ORA sr | TSB dp | ORA dp | ASL dp | ORA dp_ind_long
$08: PHP imp | ORA imm_m | ASL acc | PHD imp | TSB abs | ORA abs | ASL abs | ORA long
$10: BPL rel8 | ORA dp_ind_y | ORA dp_ind | ORA sr_ind_y | TRB dp | ORA dp_x | ASL dp_x | ORA dp_ind_long_y
$18: CLC imp | ORA abs_y | INC acc | TCS imp | TRB abs | ORA abs_x | ASL abs_x | ORA long_x
$20: JSR abs | AND dp_x_ind | JSL long | AND sr | BIT dp | AND dp | ROL dp | AND dp_ind_long
$28: PLP imp | AND imm_m | ROL acc | PLD imp | BIT abs | AND abs | ROL abs | AND long
$30: BMI rel8 | AND dp_ind_y | AND dp_ind | AND sr_ind_y | BIT dp_x | AND dp_x | ROL dp_x | AND dp_ind_long_y
$38: SEC imp | AND abs_y | DEC acc | TSC imp | BIT abs_x | AND abs_x | ROL abs_x | AND long_x
$40: RTI imp | EOR dp_x_ind | WDM imm8 | EOR sr | MVP block | EOR dp | LSR dp | EOR dp_ind_long
$48: PHA imp | EOR imm_m | LSR acc | PHK imp | JMP abs | EOR abs | LSR abs | EOR long
$50: BVC rel8 | EOR dp_ind_y | EOR dp_ind | EOR sr_ind_y | MVN block | EOR dp_x | LSR dp_x | EOR dp_ind_long_y
$58: CLI imp | EOR abs_y | PHY imp | TCD imp | JML long | EOR abs_x | LSR abs_x | EOR long_x
$60: RTS imp | ADC dp_x_ind | PER rel16 | ADC sr | STZ dp | ADC dp | ROR dp | ADC dp_ind_long
$68: PLA imp | ADC imm_m | ROR acc | RTL imp | JMP abs_ind | ADC abs | ROR abs | ADC long
$70: BVS rel8 | ADC dp_ind_y | ADC dp_ind | ADC sr_ind_y | STZ dp_x | ADC dp_x | ROR dp_x | ADC dp_ind_long_y
$78: SEI imp | ADC abs_y | PLY imp | TDC imp | JMP abs_x_ind | ADC abs_x | ROR abs_x | ADC long_x
$80: BRA rel8 | STA dp_x_ind | BRL rel16 | STA sr | STY dp | STA dp | STX dp | STA dp_ind_long
$88: DEY imp | BIT imm_m | TXA imp | PHB imp | STY abs | STA abs | STX abs | STA long
$90: BCC rel8 | STA dp_ind_y | STA dp_ind | STA sr_ind_y | STY dp_x | STA dp_x | STX dp_y | STA dp_ind_long_y
$98: TYA imp | STA abs_y | TXS imp | TXY imp | STZ abs | STA abs_x | STZ abs_x | STA long_x
$A0: LDY imm_x | LDA dp_x_ind | LDX imm_x | LDA sr | LDY dp | LDA dp | LDX dp | LDA dp_ind_long
$A8: TAY imp | LDA imm_m | TAX imp | PLB imp | LDY abs | LDA abs | LDX abs | LDA long
$B0: BCS rel8 | LDA dp_ind_y | LDA dp_ind | LDA sr_ind_y | LDY dp_x | LDA dp_x | LDX dp_y | LDA dp_ind_long_y
$B8: CLV imp | LDA abs_y | TSX imp | TYX imp | LDY abs_x | LDA abs_x | LDX abs_y | LDA long_x
$C0: CPY imm_x | CMP dp_x_ind | REP imm8 | CMP sr | CPY dp | CMP dp | DEC dp | CMP dp_ind_long
$C8: INY imp | CMP imm_m | DEX imp | WAI imp | CPY abs | CMP abs | DEC abs | CMP long
$D0: BNE rel8 | CMP dp_ind_y | CMP dp_ind | CMP sr_ind_y | PEI dp_ind | CMP dp_x | DEC dp_x | CMP dp_ind_long_y
$D8: CLD imp | CMP abs_y | PHX imp | STP imp | JML abs_ind_long | CMP abs_x | DEC abs_x | CMP long_x
$E0: CPX imm_x | SBC dp_x_ind | SEP imm8 | SBC sr | CPX dp | SBC dp | INC dp | SBC dp_ind_long
$E8: INX imp | SBC imm_m | NOP imp | XBA imp | CPX abs | SBC abs | INC abs | SBC long
$F0: BEQ rel8 | SBC dp_ind_y | SBC dp_ind | SBC sr_ind_y | PEA imm16 | SBC dp_x | INC dp_x | SBC dp_ind_long_y
$F8: SED imp | SBC abs_y | PLX imp | XCE imp | JSR abs_x_ind | SBC abs_x | INC abs_x | SBC long_x
"""

# Mnemonics whose absolute/long operand is a jump target or a pushed value: Asar needs no width suffix.
_UNSUFFIXED = frozenset({"JMP", "JML", "JSR", "JSL", "PEA"})


@dataclass(frozen=True)
class OpcodeInfo:
    """One opcode: what it is called, how it addresses memory, and how long it is."""

    opcode: int
    mnemonic: str
    mode: str

    def length(self, m8: bool, x8: bool) -> int:
        """Instruction length in bytes (opcode included) under the given register widths."""
        if self.mode == IMMEDIATE_M:
            return 2 if m8 else 3
        if self.mode == IMMEDIATE_X:
            return 2 if x8 else 3
        return 1 + _OPERAND_BYTES[self.mode]


def _parse_matrix() -> tuple[OpcodeInfo, ...]:
    rows = [line.split(":", 1)[1] for line in _MATRIX.strip().splitlines()]
    cells = [cell.strip() for row in rows for cell in row.split("|")]
    if len(cells) != 256:
        raise AssertionError(f"opcode matrix has {len(cells)} cells, not 256")
    table = []
    for opcode, cell in enumerate(cells):
        mnemonic, mode = cell.split()
        if mode not in _OPERAND_BYTES and mode not in (IMMEDIATE_M, IMMEDIATE_X):
            raise AssertionError(f"unknown addressing mode {mode!r} for ${opcode:02X}")
        table.append(OpcodeInfo(opcode, mnemonic, mode))
    return tuple(table)


OPCODES: tuple[OpcodeInfo, ...] = _parse_matrix()


def instruction_length(opcode: int, m8: bool, x8: bool) -> int:
    """Length in bytes of the instruction starting with ``opcode`` when M/X are 8-bit (True) or 16-bit."""
    return OPCODES[opcode].length(m8, x8)


def _signed8(value: int) -> int:
    return value - 0x100 if value & 0x80 else value


def _signed16(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value


def format_operand(info: OpcodeInfo, operand: bytes, pc: int) -> str:
    """The Asar text of one instruction given its operand bytes; ``pc`` is the address of its opcode."""
    mnemonic, mode = info.mnemonic, info.mode
    value = int.from_bytes(operand, "little")
    width = len(operand)
    if mode == IMPLIED:
        return mnemonic
    if mode == ACCUMULATOR:
        return f"{mnemonic} A"
    if mode in (IMMEDIATE_M, IMMEDIATE_X, IMMEDIATE_8):
        return f"{mnemonic} #${value:0{2 * width}X}"
    if mode == IMMEDIATE_16:
        return f"{mnemonic} ${value:04X}"
    if mode in (RELATIVE_8, RELATIVE_16):
        offset = _signed8(value) if mode == RELATIVE_8 else _signed16(value)
        target = (pc + 1 + width + offset) & 0xFFFF  # relative to the next instruction, wrapping in the bank
        return f"{mnemonic} ${target:04X}"
    if mode == BLOCK_MOVE:
        return f"{mnemonic} ${operand[0]:02X},${operand[1]:02X}"
    templates = {
        DIRECT: ".b ${v}",
        DIRECT_X: ".b ${v},X",
        DIRECT_Y: ".b ${v},Y",
        DIRECT_INDIRECT: " (${v})",
        DIRECT_INDIRECT_LONG: " [${v}]",
        DIRECT_X_INDIRECT: " (${v},X)",
        DIRECT_INDIRECT_Y: " (${v}),Y",
        DIRECT_INDIRECT_LONG_Y: " [${v}],Y",
        STACK_RELATIVE: " ${v},S",
        STACK_RELATIVE_INDIRECT_Y: " (${v},S),Y",
        ABSOLUTE: ".w ${v}",
        ABSOLUTE_X: ".w ${v},X",
        ABSOLUTE_Y: ".w ${v},Y",
        LONG: ".l ${v}",
        LONG_X: ".l ${v},X",
        ABSOLUTE_INDIRECT: " (${v})",
        ABSOLUTE_X_INDIRECT: " (${v},X)",
        ABSOLUTE_INDIRECT_LONG: " [${v}]",
    }
    template = templates[mode]
    if mnemonic in _UNSUFFIXED and template[0] == ".":
        template = " " + template[3:]
    return mnemonic + template.replace("{v}", f"{value:0{2 * width}X}")


def disassemble(data: bytes, offset: int, m8: bool, x8: bool, *, pc: int | None = None) -> tuple[str, int]:
    """Decode the instruction at ``data[offset]``: its Asar text and its length in bytes.

    ``pc`` is the address of that instruction (for branch targets); by default ``data`` is taken to start
    at $8000 (LoROM code at ``org $008000``). An instruction cut off by the end of ``data`` comes back as
    ``db`` bytes covering what is left, so a linear sweep over a buffer never raises.
    """
    info = OPCODES[data[offset]]
    length = info.length(m8, x8)
    if offset + length > len(data):
        rest = data[offset:]
        return "db " + ",".join(f"${b:02X}" for b in rest), len(rest)
    address = 0x8000 + offset if pc is None else pc
    return format_operand(info, bytes(data[offset + 1 : offset + length]), address), length


def disassemble_all(data: bytes, m8: bool, x8: bool, *, pc: int = 0x8000) -> list[tuple[int, str]]:
    """A linear sweep with fixed widths (REP/SEP inside ``data`` update the widths as Asar-like code would).

    Returns (address, text) pairs. Width tracking is static - it follows REP/SEP in program order, not
    execution - which is what a reader of a listing assumes; use the CPU trace for the run-time truth.
    """
    lines = []
    offset = 0
    while offset < len(data):
        text, length = disassemble(data, offset, m8, x8, pc=(pc + offset) & 0xFFFF)
        opcode = data[offset]
        if length == 2 and opcode in (0xC2, 0xE2):  # REP / SEP
            bits = data[offset + 1]
            if bits & 0x20:
                m8 = opcode == 0xE2
            if bits & 0x10:
                x8 = opcode == 0xE2
        lines.append((pc + offset, text))
        offset += length
    return lines

"""A 65816 interpreter for running short routines under validators, plus a call harness and state specs.

Why: generated debugging dialogues claim things like "with a 16-bit accumulator this STA never runs" or
"the fix keeps S and DB balanced". Running the routine settles such claims; the interpreter exists to
be *correct about the 65816's odd corners* (widths that change instruction lengths, decimal mode,
direct-page and bank wrapping, RTS after JSL) and to report, never hang or crash: every run has an
instruction budget and every stop has a reason.

Design: one closure per opcode in a 256-entry table, built per CPU over its memory's page tables, so a
step is a page lookup, a list index and one call (no per-step decoding or string work). Registers are
plain attributes; the flags are separate booleans and ``P`` is assembled on demand.

Simplifications (documented so nobody relies on them):

* No cycle counting, no interrupts other than BRK/COP, no DMA/HDMA, no hardware behind the register stubs.
* Emulation mode: the stack always wraps inside page 1 (also for the 65816-only PEA/PEI/PER/PHD/PLD/JSL/
  RTL, which on hardware may leave it), and the 6502 direct-page quirk (wrapping inside the page when DL=0)
  is not modelled: direct page always wraps within bank 0, as in native mode.
* Immediate and branch operands are fetched with the PC wrapping inside the program bank; a 16-bit data
  access at the top of a bank reads its high byte from the next bank (except direct page/stack, bank 0).
* MVN/MVP move one byte per executed instruction (as hardware re-executes them), so each byte counts
  against the budget.
* BRK in emulation pushes P with bit 4 set (the B flag); COP pushes P unchanged (also bit 4 set there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter

from curation.asm.memory import PAGE_BITS, PAGE_MASK, Memory
from curation.asm.opcodes import OPCODES, format_operand

FLAG_N = 0x80
FLAG_V = 0x40
FLAG_M = 0x20
FLAG_X = 0x10
FLAG_D = 0x08
FLAG_I = 0x04
FLAG_Z = 0x02
FLAG_C = 0x01

# Why a run stopped.
STOP_BUDGET = "budget"
STOP_STP = "stp"
STOP_WAI = "wai"
STOP_BRK = "brk"
STOP_RETURN = "return"  # a return instruction left the frame the call harness set up

# Interrupt vectors in bank 0 (the SNES reads them from ROM).
VECTOR_COP_NATIVE = 0xFFE4
VECTOR_BRK_NATIVE = 0xFFE6
VECTOR_COP_EMULATION = 0xFFF4
VECTOR_BRK_EMULATION = 0xFFFE
VECTOR_RESET = 0xFFFC


class _Halt(Exception):
    """Raised by a handler to end the run; the run loop turns it into a RunResult (never escapes)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _hex_p(p: int, e: bool) -> str:
    names = "NVMXDIZC" if not e else "NV1BDIZC"
    return "".join(ch if p & (0x80 >> i) else ch.lower() if ch.isalpha() else "-" for i, ch in enumerate(names))


class _Widths:
    """The register widths a copy of P says: what both a register snapshot and a trace line report."""

    p: int

    @property
    def m8(self) -> bool:
        """Whether A (and memory operands) are 8-bit."""
        return bool(self.p & FLAG_M)

    @property
    def x8(self) -> bool:
        """Whether X and Y are 8-bit."""
        return bool(self.p & FLAG_X)


@dataclass(frozen=True)
class Registers(_Widths):
    """An immutable copy of the CPU registers (A is the full 16-bit C; the widths live in P and E)."""

    a: int
    x: int
    y: int
    s: int
    d: int
    db: int
    pb: int
    pc: int
    p: int
    e: bool

    @property
    def carry(self) -> bool:
        return bool(self.p & FLAG_C)

    def __str__(self) -> str:
        return (
            f"PC=${self.pb:02X}:{self.pc:04X} A=${self.a:04X} X=${self.x:04X} Y=${self.y:04X} S=${self.s:04X} "
            f"D=${self.d:04X} DB=${self.db:02X} P={_hex_p(self.p, self.e)} E={int(self.e)}"
        )


@dataclass(frozen=True)
class TraceEntry(_Widths):
    """One executed instruction with the registers *before* it ran - the widths it was decoded with."""

    address: int
    text: str
    a: int
    x: int
    y: int
    s: int
    d: int
    db: int
    p: int
    e: bool

    def __str__(self) -> str:
        return (
            f"${self.address:06X}  {self.text:<20} A=${self.a:04X} X=${self.x:04X} Y=${self.y:04X} "
            f"S=${self.s:04X} D=${self.d:04X} DB=${self.db:02X} P={_hex_p(self.p, self.e)} E={int(self.e)}"
        )


@dataclass(frozen=True)
class RunResult:
    """Why :meth:`CPU.run` stopped, how many instructions it executed, and where the last one started."""

    reason: str
    instructions: int
    address: int


# ------------------------------------------------------------------------------------------ arithmetic


def add_with_carry(a: int, value: int, carry: bool, bits: int, decimal: bool) -> tuple[int, bool, bool]:
    """ADC on ``bits`` (8 or 16): returns (result, carry out, overflow).

    Decimal mode follows the 65816 nibble by nibble (as bsnes does): each digit is corrected by +6 when
    it passes 9, and V is taken before the top digit's correction, which is what real hardware reports.
    """
    mask = (1 << bits) - 1
    sign = 1 << (bits - 1)
    if not decimal:
        result = a + value + carry
        overflow = bool(~(a ^ value) & (a ^ result) & sign)
        return result & mask, result > mask, overflow
    digits = bits // 4
    result = (a & 0xF) + (value & 0xF) + carry
    if result > 0x9:
        result += 0x6
    digit_carry = result > 0xF
    for k in range(1, digits):
        shift = 4 * k
        low = (1 << shift) - 1
        nibble = 0xF << shift
        result = (a & nibble) + (value & nibble) + (digit_carry << shift) + (result & low)
        if k < digits - 1:
            if result > (0x9 << shift) | low:
                result += 0x6 << shift
            digit_carry = result > (nibble | low)
    overflow = bool(~(a ^ value) & (a ^ result) & sign)
    if result > (0x9 << (bits - 4)) | (mask >> 4):
        result += 0x6 << (bits - 4)
    return result & mask, result > mask, overflow


def subtract_with_borrow(a: int, value: int, carry: bool, bits: int, decimal: bool) -> tuple[int, bool, bool]:
    """SBC on ``bits``: A - value - (1 - C). Returns (result, carry out = no borrow, overflow)."""
    mask = (1 << bits) - 1
    sign = 1 << (bits - 1)
    inverted = ~value & mask
    if not decimal:
        result = a + inverted + carry
        overflow = bool(~(a ^ inverted) & (a ^ result) & sign)
        return result & mask, result > mask, overflow
    digits = bits // 4
    result = (a & 0xF) + (inverted & 0xF) + carry
    if result <= 0xF:
        result -= 0x6
    digit_carry = result > 0xF
    for k in range(1, digits):
        shift = 4 * k
        low = (1 << shift) - 1
        nibble = 0xF << shift
        result = (a & nibble) + (inverted & nibble) + (digit_carry << shift) + (result & low)
        if k < digits - 1:
            if result <= (nibble | low):
                result -= 0x6 << shift
            digit_carry = result > (nibble | low)
    overflow = bool(~(a ^ inverted) & (a ^ result) & sign)
    if result <= mask:
        result -= 0x6 << (bits - 4)
    return result & mask, result > mask, overflow


# ------------------------------------------------------------------------------------------ the CPU


class CPU:
    """The 65816 core. Starts in native mode with 8-bit A and X/Y, S=$01FF (a routine-testing default;
    :meth:`reset` gives the hardware power-on state instead)."""

    __slots__ = (
        "_handlers",
        "a",
        "c",
        "d",
        "db",
        "decimal",
        "e",
        "instructions_total",
        "irq_disabled",
        "m8",
        "memory",
        "n",
        "pb",
        "pc",
        "return_floor",
        "s",
        "stop_on_brk",
        "trace",
        "v",
        "x",
        "x8",
        "y",
        "z",
    )

    def __init__(self, memory: Memory | None = None, *, trace: bool = False, stop_on_brk: bool = False) -> None:
        self.memory = memory if memory is not None else Memory()
        self.stop_on_brk = stop_on_brk
        self.restart(trace=trace)
        self._handlers = _build_handlers(self)

    def restart(self, *, trace: bool = False) -> None:
        """Back to the state a new ``CPU`` starts in, keeping the opcode handlers: building those costs
        more than a short routine's run, so a harness running many scenarios restarts one CPU (over a
        :meth:`Memory.restore`-d memory) instead of making one per scenario."""
        self.a = self.x = self.y = 0
        self.s = 0x01FF
        self.d = 0
        self.db = self.pb = 0
        self.pc = 0x8000
        self.n = self.v = self.z = self.c = False
        self.decimal = False
        self.irq_disabled = True
        self.m8 = self.x8 = True
        self.e = False
        self.trace: list[TraceEntry] | None = [] if trace else None
        # Set by the call harness: a return that leaves S above this has left the called routine's frame.
        self.return_floor: int | None = None
        self.instructions_total = 0

    # ------------------------------------------------------------------ status register

    @property
    def p(self) -> int:
        """The status byte N V M X D I Z C (in emulation bits 5 and 4 read as 1)."""
        return (
            (FLAG_N if self.n else 0)
            | (FLAG_V if self.v else 0)
            | (FLAG_M if self.m8 else 0)
            | (FLAG_X if self.x8 else 0)
            | (FLAG_D if self.decimal else 0)
            | (FLAG_I if self.irq_disabled else 0)
            | (FLAG_Z if self.z else 0)
            | (FLAG_C if self.c else 0)
        )

    @p.setter
    def p(self, value: int) -> None:
        self.n = bool(value & FLAG_N)
        self.v = bool(value & FLAG_V)
        self.decimal = bool(value & FLAG_D)
        self.irq_disabled = bool(value & FLAG_I)
        self.z = bool(value & FLAG_Z)
        self.c = bool(value & FLAG_C)
        if not self.e:  # in emulation M and X stay 1
            self.m8 = bool(value & FLAG_M)
            self.x8 = bool(value & FLAG_X)
        if self.x8:  # 8-bit index registers lose their high bytes
            self.x &= 0xFF
            self.y &= 0xFF

    def set_emulation(self, emulation: bool) -> None:
        """Switch modes the way XCE does (without touching C): entering forces 8-bit registers and page-1 S."""
        self.e = emulation
        if emulation:
            self.m8 = self.x8 = True
            self.x &= 0xFF
            self.y &= 0xFF
            self.s = 0x0100 | (self.s & 0xFF)

    def reset(self) -> None:
        """Hardware reset: emulation mode, D=0, DB=PB=0, I set, D clear, PC from the reset vector."""
        self.d = self.db = self.pb = 0
        self.decimal = False
        self.irq_disabled = True
        self.set_emulation(True)
        self.pc = self.memory.read16(VECTOR_RESET)

    @property
    def registers(self) -> Registers:
        return Registers(self.a, self.x, self.y, self.s, self.d, self.db, self.pb, self.pc, self.p, self.e)

    # ------------------------------------------------------------------ stack helpers (for harnesses)

    def push8(self, value: int) -> None:
        self.memory.write8(self.s, value & 0xFF)
        self.s = (0x100 | ((self.s - 1) & 0xFF)) if self.e else (self.s - 1) & 0xFFFF

    def push16(self, value: int) -> None:
        self.push8(value >> 8)
        self.push8(value)

    # ------------------------------------------------------------------ running

    def disassemble_at(self, address: int) -> str:
        """The instruction at a 24-bit address decoded with the *current* widths (no side effects)."""
        info = OPCODES[self.memory.peek(address)[0]]
        length = info.length(self.m8, self.x8)
        return format_operand(info, self.memory.peek((address + 1) & 0xFFFFFF, length - 1), address & 0xFFFF)

    def _trace_entry(self, address: int) -> TraceEntry:
        return TraceEntry(
            address, self.disassemble_at(address), self.a, self.x, self.y, self.s, self.d, self.db, self.p, self.e
        )

    def run(self, max_instructions: int = 100_000) -> RunResult:
        """Execute from PB:PC until STP/WAI/(BRK when ``stop_on_brk``)/a harness return, or the budget.

        An endless loop is a reported ``budget`` stop, never a hang.
        """
        handlers = self._handlers
        read_pages = self.memory.read_pages
        slow_read8 = self.memory.slow_read8
        trace = self.trace
        count = 0
        address = self.pb << 16 | self.pc
        try:
            while count < max_instructions:
                pc = self.pc
                address = self.pb << 16 | pc
                if trace is not None:
                    trace.append(self._trace_entry(address))
                page = read_pages[address >> PAGE_BITS]
                opcode = page[address & PAGE_MASK] if page is not None else slow_read8(address)
                self.pc = (pc + 1) & 0xFFFF
                count += 1
                handlers[opcode]()
        except _Halt as halt:
            self.instructions_total += count
            return RunResult(halt.reason, count, address)
        self.instructions_total += count
        return RunResult(STOP_BUDGET, count, address)

    def step(self) -> RunResult:
        """Execute exactly one instruction."""
        return self.run(1)


# ------------------------------------------------------------------------------------------ handlers


def _build_handlers(cpu: CPU) -> list[Callable[[], None]]:
    """The 256 opcode handlers, as closures over ``cpu`` and its memory's page tables."""
    memory = cpu.memory
    read_pages = memory.read_pages
    write_pages = memory.write_pages
    slow_read8 = memory.slow_read8
    slow_write8 = memory.slow_write8

    # -- memory access -----------------------------------------------------------------------
    def rd8(address: int) -> int:
        page = read_pages[address >> PAGE_BITS]
        return page[address & PAGE_MASK] if page is not None else slow_read8(address)

    def wr8(address: int, value: int) -> None:
        page = write_pages[address >> PAGE_BITS]
        if page is not None:
            page[address & PAGE_MASK] = value
        else:
            slow_write8(address, value)

    def rd16(address: int) -> int:  # data bank / long: the high byte may be in the next bank
        return rd8(address) | rd8((address + 1) & 0xFFFFFF) << 8

    def wr16(address: int, value: int) -> None:
        wr8(address, value & 0xFF)
        wr8((address + 1) & 0xFFFFFF, value >> 8)

    def rd16_bank0(address: int) -> int:  # direct page / stack: wraps within bank 0
        return rd8(address) | rd8((address + 1) & 0xFFFF) << 8

    def wr16_bank0(address: int, value: int) -> None:
        wr8(address, value & 0xFF)
        wr8((address + 1) & 0xFFFF, value >> 8)

    def fetch8() -> int:
        pc = cpu.pc
        cpu.pc = (pc + 1) & 0xFFFF
        return rd8(cpu.pb << 16 | pc)

    def fetch16() -> int:
        pc = cpu.pc
        bank = cpu.pb << 16
        cpu.pc = (pc + 2) & 0xFFFF
        return rd8(bank | pc) | rd8(bank | ((pc + 1) & 0xFFFF)) << 8

    def fetch24() -> int:
        pc = cpu.pc
        bank = cpu.pb << 16
        cpu.pc = (pc + 3) & 0xFFFF
        return rd8(bank | pc) | rd8(bank | ((pc + 1) & 0xFFFF)) << 8 | rd8(bank | ((pc + 2) & 0xFFFF)) << 16

    # -- stack (bank 0; page 1 in emulation) ----------------------------------------------------
    def push8(value: int) -> None:
        s = cpu.s
        wr8(s, value & 0xFF)
        cpu.s = (0x100 | ((s - 1) & 0xFF)) if cpu.e else (s - 1) & 0xFFFF

    def pull8() -> int:
        s = (0x100 | ((cpu.s + 1) & 0xFF)) if cpu.e else (cpu.s + 1) & 0xFFFF
        cpu.s = s
        return rd8(s)

    def push16(value: int) -> None:
        push8(value >> 8)
        push8(value)

    def pull16() -> int:
        low = pull8()
        return low | pull8() << 8

    def check_return() -> None:
        floor = cpu.return_floor
        if floor is not None and 0 < ((cpu.s - floor) & 0xFFFF) < 0x8000:
            raise _Halt(STOP_RETURN)

    # -- flags -----------------------------------------------------------------------------------
    def nz8(value: int) -> None:
        cpu.z = value == 0
        cpu.n = value > 0x7F

    def nz16(value: int) -> None:
        cpu.z = value == 0
        cpu.n = value > 0x7FFF

    # -- effective addresses: each fetches its operand and returns a 24-bit address ------------
    def ea_dp() -> int:
        return (cpu.d + fetch8()) & 0xFFFF

    def ea_dp_x() -> int:
        return (cpu.d + fetch8() + cpu.x) & 0xFFFF

    def ea_dp_y() -> int:
        return (cpu.d + fetch8() + cpu.y) & 0xFFFF

    def ea_dp_ind() -> int:
        return cpu.db << 16 | rd16_bank0((cpu.d + fetch8()) & 0xFFFF)

    def ea_dp_x_ind() -> int:
        return cpu.db << 16 | rd16_bank0((cpu.d + fetch8() + cpu.x) & 0xFFFF)

    def ea_dp_ind_y() -> int:
        return ((cpu.db << 16 | rd16_bank0((cpu.d + fetch8()) & 0xFFFF)) + cpu.y) & 0xFFFFFF

    def ea_dp_ind_long() -> int:
        pointer = (cpu.d + fetch8()) & 0xFFFF
        return rd16_bank0(pointer) | rd8((pointer + 2) & 0xFFFF) << 16

    def ea_dp_ind_long_y() -> int:
        return (ea_dp_ind_long() + cpu.y) & 0xFFFFFF

    def ea_abs() -> int:
        return cpu.db << 16 | fetch16()

    def ea_abs_x() -> int:
        return ((cpu.db << 16 | fetch16()) + cpu.x) & 0xFFFFFF

    def ea_abs_y() -> int:
        return ((cpu.db << 16 | fetch16()) + cpu.y) & 0xFFFFFF

    def ea_long() -> int:
        return fetch24()

    def ea_long_x() -> int:
        return (fetch24() + cpu.x) & 0xFFFFFF

    def ea_sr() -> int:
        return (cpu.s + fetch8()) & 0xFFFF

    def ea_sr_ind_y() -> int:
        return ((cpu.db << 16 | rd16_bank0((cpu.s + fetch8()) & 0xFFFF)) + cpu.y) & 0xFFFFFF

    # mode -> (resolver, whether the operand lives in bank 0 and wraps there)
    resolvers: dict[str, tuple[Callable[[], int], bool]] = {
        "dp": (ea_dp, True),
        "dp_x": (ea_dp_x, True),
        "dp_y": (ea_dp_y, True),
        "dp_ind": (ea_dp_ind, False),
        "dp_x_ind": (ea_dp_x_ind, False),
        "dp_ind_y": (ea_dp_ind_y, False),
        "dp_ind_long": (ea_dp_ind_long, False),
        "dp_ind_long_y": (ea_dp_ind_long_y, False),
        "abs": (ea_abs, False),
        "abs_x": (ea_abs_x, False),
        "abs_y": (ea_abs_y, False),
        "long": (ea_long, False),
        "long_x": (ea_long_x, False),
        "sr": (ea_sr, True),
        "sr_ind_y": (ea_sr_ind_y, False),
    }

    # -- operations on a fetched value (8- and 16-bit variants) --------------------------------
    def lda8(v: int) -> None:
        cpu.a = (cpu.a & 0xFF00) | v
        cpu.z = v == 0
        cpu.n = v > 0x7F

    def lda16(v: int) -> None:
        cpu.a = v
        cpu.z = v == 0
        cpu.n = v > 0x7FFF

    def ldx8(v: int) -> None:
        cpu.x = v
        nz8(v)

    def ldx16(v: int) -> None:
        cpu.x = v
        nz16(v)

    def ldy8(v: int) -> None:
        cpu.y = v
        nz8(v)

    def ldy16(v: int) -> None:
        cpu.y = v
        nz16(v)

    def ora8(v: int) -> None:
        result = (cpu.a | v) & 0xFF
        cpu.a = (cpu.a & 0xFF00) | result
        nz8(result)

    def ora16(v: int) -> None:
        cpu.a |= v
        nz16(cpu.a)

    def and8(v: int) -> None:
        result = cpu.a & v
        cpu.a = (cpu.a & 0xFF00) | result
        nz8(result)

    def and16(v: int) -> None:
        cpu.a &= v
        nz16(cpu.a)

    def eor8(v: int) -> None:
        result = (cpu.a ^ v) & 0xFF
        cpu.a = (cpu.a & 0xFF00) | result
        nz8(result)

    def eor16(v: int) -> None:
        cpu.a ^= v
        nz16(cpu.a)

    def adc8(v: int) -> None:
        result, cpu.c, cpu.v = add_with_carry(cpu.a & 0xFF, v, cpu.c, 8, cpu.decimal)
        cpu.a = (cpu.a & 0xFF00) | result
        nz8(result)

    def adc16(v: int) -> None:
        result, cpu.c, cpu.v = add_with_carry(cpu.a, v, cpu.c, 16, cpu.decimal)
        cpu.a = result
        nz16(result)

    def sbc8(v: int) -> None:
        result, cpu.c, cpu.v = subtract_with_borrow(cpu.a & 0xFF, v, cpu.c, 8, cpu.decimal)
        cpu.a = (cpu.a & 0xFF00) | result
        nz8(result)

    def sbc16(v: int) -> None:
        result, cpu.c, cpu.v = subtract_with_borrow(cpu.a, v, cpu.c, 16, cpu.decimal)
        cpu.a = result
        nz16(result)

    def compare8(register: int, v: int) -> None:
        result = (register & 0xFF) - v
        cpu.c = result >= 0
        nz8(result & 0xFF)

    def compare16(register: int, v: int) -> None:
        result = register - v
        cpu.c = result >= 0
        nz16(result & 0xFFFF)

    def cmp8(v: int) -> None:
        compare8(cpu.a, v)

    def cmp16(v: int) -> None:
        compare16(cpu.a, v)

    def cpx8(v: int) -> None:
        compare8(cpu.x, v)

    def cpx16(v: int) -> None:
        compare16(cpu.x, v)

    def cpy8(v: int) -> None:
        compare8(cpu.y, v)

    def cpy16(v: int) -> None:
        compare16(cpu.y, v)

    def bit8(v: int) -> None:
        cpu.n = v > 0x7F
        cpu.v = bool(v & 0x40)
        cpu.z = (cpu.a & v & 0xFF) == 0

    def bit16(v: int) -> None:
        cpu.n = v > 0x7FFF
        cpu.v = bool(v & 0x4000)
        cpu.z = (cpu.a & v) == 0

    def bit_imm8(v: int) -> None:  # immediate BIT only sets Z
        cpu.z = (cpu.a & v & 0xFF) == 0

    def bit_imm16(v: int) -> None:
        cpu.z = (cpu.a & v) == 0

    read_ops: dict[str, tuple[Callable[[int], None], Callable[[int], None], bool]] = {
        # mnemonic -> (8-bit op, 16-bit op, width follows X rather than M)
        "LDA": (lda8, lda16, False),
        "ORA": (ora8, ora16, False),
        "AND": (and8, and16, False),
        "EOR": (eor8, eor16, False),
        "ADC": (adc8, adc16, False),
        "SBC": (sbc8, sbc16, False),
        "CMP": (cmp8, cmp16, False),
        "BIT": (bit8, bit16, False),
        "LDX": (ldx8, ldx16, True),
        "LDY": (ldy8, ldy16, True),
        "CPX": (cpx8, cpx16, True),
        "CPY": (cpy8, cpy16, True),
    }

    # -- read-modify-write operations: (value, mask, sign bit) -> new value ---------------------
    def op_asl(v: int, mask: int, sign: int) -> int:
        cpu.c = bool(v & sign)
        result = (v << 1) & mask
        cpu.z = result == 0
        cpu.n = bool(result & sign)
        return result

    def op_lsr(v: int, mask: int, sign: int) -> int:
        cpu.c = bool(v & 1)
        result = v >> 1
        cpu.z = result == 0
        cpu.n = False
        return result

    def op_rol(v: int, mask: int, sign: int) -> int:
        result = ((v << 1) | cpu.c) & mask
        cpu.c = bool(v & sign)
        cpu.z = result == 0
        cpu.n = bool(result & sign)
        return result

    def op_ror(v: int, mask: int, sign: int) -> int:
        result = (v >> 1) | (sign if cpu.c else 0)
        cpu.c = bool(v & 1)
        cpu.z = result == 0
        cpu.n = bool(result & sign)
        return result

    def op_inc(v: int, mask: int, sign: int) -> int:
        result = (v + 1) & mask
        cpu.z = result == 0
        cpu.n = bool(result & sign)
        return result

    def op_dec(v: int, mask: int, sign: int) -> int:
        result = (v - 1) & mask
        cpu.z = result == 0
        cpu.n = bool(result & sign)
        return result

    def op_tsb(v: int, mask: int, sign: int) -> int:
        accumulator = cpu.a & mask
        cpu.z = (accumulator & v) == 0
        return v | accumulator

    def op_trb(v: int, mask: int, sign: int) -> int:
        accumulator = cpu.a & mask
        cpu.z = (accumulator & v) == 0
        return v & ~accumulator & mask

    rmw_ops = {
        "ASL": op_asl,
        "LSR": op_lsr,
        "ROL": op_rol,
        "ROR": op_ror,
        "INC": op_inc,
        "DEC": op_dec,
        "TSB": op_tsb,
        "TRB": op_trb,
    }

    # -- handler factories ---------------------------------------------------------------------
    def make_read(op8: Callable[[int], None], op16: Callable[[int], None], index: bool, mode: str) -> Callable:
        if mode in ("imm_m", "imm_x"):
            if index:

                def read_imm_x() -> None:
                    if cpu.x8:
                        op8(fetch8())
                    else:
                        op16(fetch16())

                return read_imm_x

            def read_imm_m() -> None:
                if cpu.m8:
                    op8(fetch8())
                else:
                    op16(fetch16())

            return read_imm_m
        resolve, bank0 = resolvers[mode]
        read16 = rd16_bank0 if bank0 else rd16
        if index:

            def read_x() -> None:
                address = resolve()
                if cpu.x8:
                    op8(rd8(address))
                else:
                    op16(read16(address))

            return read_x

        def read_m() -> None:
            address = resolve()
            if cpu.m8:
                op8(rd8(address))
            else:
                op16(read16(address))

        return read_m

    def make_store(register: Callable[[], int], index: bool, mode: str) -> Callable:
        resolve, bank0 = resolvers[mode]
        write16 = wr16_bank0 if bank0 else wr16

        def store() -> None:
            address = resolve()
            if cpu.x8 if index else cpu.m8:
                wr8(address, register() & 0xFF)
            else:
                write16(address, register())

        return store

    def make_rmw(op: Callable[[int, int, int], int], mode: str) -> Callable:
        if mode == "acc":

            def rmw_accumulator() -> None:
                if cpu.m8:
                    cpu.a = (cpu.a & 0xFF00) | op(cpu.a & 0xFF, 0xFF, 0x80)
                else:
                    cpu.a = op(cpu.a, 0xFFFF, 0x8000)

            return rmw_accumulator
        resolve, bank0 = resolvers[mode]
        read16 = rd16_bank0 if bank0 else rd16
        write16 = wr16_bank0 if bank0 else wr16

        def rmw_memory() -> None:
            address = resolve()
            if cpu.m8:
                wr8(address, op(rd8(address), 0xFF, 0x80))
            else:
                write16(address, op(read16(address), 0xFFFF, 0x8000))

        return rmw_memory

    def make_branch(flag: str | None, taken_when: bool) -> Callable:
        if flag is None:

            def branch_always() -> None:
                offset = fetch8()
                cpu.pc = (cpu.pc + offset - ((offset & 0x80) << 1)) & 0xFFFF

            return branch_always
        get_flag = attrgetter(flag)

        def branch() -> None:
            offset = fetch8()
            if get_flag(cpu) == taken_when:
                cpu.pc = (cpu.pc + offset - ((offset & 0x80) << 1)) & 0xFFFF

        return branch

    def make_index_step(register: str, delta: int) -> Callable:
        if register == "x":

            def step_x() -> None:
                cpu.x = (cpu.x + delta) & (0xFF if cpu.x8 else 0xFFFF)
                (nz8 if cpu.x8 else nz16)(cpu.x)

            return step_x

        def step_y() -> None:
            cpu.y = (cpu.y + delta) & (0xFF if cpu.x8 else 0xFFFF)
            (nz8 if cpu.x8 else nz16)(cpu.y)

        return step_y

    def make_flag(name: str, value: bool) -> Callable:
        def set_flag() -> None:
            setattr(cpu, name, value)

        return set_flag

    # -- individual instructions -----------------------------------------------------------------
    def op_bra_long() -> None:  # BRL
        offset = fetch16()
        cpu.pc = (cpu.pc + offset) & 0xFFFF

    def op_jmp_abs() -> None:
        cpu.pc = fetch16()

    def op_jmp_ind() -> None:  # JMP ($1234): pointer in bank 0
        cpu.pc = rd16_bank0(fetch16())

    def op_jmp_x_ind() -> None:  # JMP ($1234,X): pointer in the program bank
        pointer = (fetch16() + cpu.x) & 0xFFFF
        bank = cpu.pb << 16
        cpu.pc = rd8(bank | pointer) | rd8(bank | ((pointer + 1) & 0xFFFF)) << 8

    def op_jml_long() -> None:
        target = fetch24()
        cpu.pb = target >> 16
        cpu.pc = target & 0xFFFF

    def op_jml_ind() -> None:  # JML [$1234]: 24-bit pointer in bank 0
        pointer = fetch16()
        target = rd16_bank0(pointer) | rd8((pointer + 2) & 0xFFFF) << 16
        cpu.pb = target >> 16
        cpu.pc = target & 0xFFFF

    def op_jsr_abs() -> None:
        target = fetch16()
        push16((cpu.pc - 1) & 0xFFFF)  # the address of the JSR's last byte
        cpu.pc = target

    def op_jsr_x_ind() -> None:
        low = fetch8()
        push16(cpu.pc)  # PC now points at the operand's high byte: the JSR's last byte
        high = fetch8()
        pointer = ((high << 8 | low) + cpu.x) & 0xFFFF
        bank = cpu.pb << 16
        cpu.pc = rd8(bank | pointer) | rd8(bank | ((pointer + 1) & 0xFFFF)) << 8

    def op_jsl() -> None:
        target = fetch24()
        push8(cpu.pb)
        push16((cpu.pc - 1) & 0xFFFF)
        cpu.pb = target >> 16
        cpu.pc = target & 0xFFFF

    def op_rts() -> None:
        cpu.pc = (pull16() + 1) & 0xFFFF
        check_return()

    def op_rtl() -> None:
        address = pull16()
        cpu.pb = pull8()
        cpu.pc = (address + 1) & 0xFFFF
        check_return()

    def op_rti() -> None:
        cpu.p = pull8()
        cpu.pc = pull16()
        if not cpu.e:
            cpu.pb = pull8()
        check_return()

    def make_interrupt(native_vector: int, emulation_vector: int, is_brk: bool) -> Callable:
        def interrupt() -> None:
            if is_brk and cpu.stop_on_brk:
                cpu.pc = (cpu.pc - 1) & 0xFFFF  # report the BRK itself, not taken
                raise _Halt(STOP_BRK)
            fetch8()  # the signature byte: the pushed return address skips it
            if cpu.e:
                push16(cpu.pc)
                push8(cpu.p)  # bit 4 (the B flag in emulation) reads as 1: X is forced to 8-bit
                vector = emulation_vector
            else:
                push8(cpu.pb)
                push16(cpu.pc)
                push8(cpu.p)
                vector = native_vector
            cpu.irq_disabled = True
            cpu.decimal = False
            cpu.pb = 0
            cpu.pc = rd16(vector)

        return interrupt

    def op_wdm() -> None:
        fetch8()

    def op_nop() -> None:
        pass

    def op_rep() -> None:
        cpu.p = cpu.p & ~fetch8()

    def op_sep() -> None:
        cpu.p = cpu.p | fetch8()

    def op_xce() -> None:
        carry = cpu.c
        cpu.c = cpu.e
        cpu.set_emulation(carry)

    def op_xba() -> None:
        low = cpu.a >> 8
        cpu.a = (cpu.a & 0xFF) << 8 | low
        nz8(low)

    # transfers
    def op_tax() -> None:
        if cpu.x8:
            cpu.x = cpu.a & 0xFF
            nz8(cpu.x)
        else:
            cpu.x = cpu.a
            nz16(cpu.x)

    def op_tay() -> None:
        if cpu.x8:
            cpu.y = cpu.a & 0xFF
            nz8(cpu.y)
        else:
            cpu.y = cpu.a
            nz16(cpu.y)

    def op_txa() -> None:
        if cpu.m8:
            cpu.a = (cpu.a & 0xFF00) | (cpu.x & 0xFF)
            nz8(cpu.x & 0xFF)
        else:
            cpu.a = cpu.x
            nz16(cpu.a)

    def op_tya() -> None:
        if cpu.m8:
            cpu.a = (cpu.a & 0xFF00) | (cpu.y & 0xFF)
            nz8(cpu.y & 0xFF)
        else:
            cpu.a = cpu.y
            nz16(cpu.a)

    def op_txy() -> None:
        cpu.y = cpu.x
        (nz8 if cpu.x8 else nz16)(cpu.y)

    def op_tyx() -> None:
        cpu.x = cpu.y
        (nz8 if cpu.x8 else nz16)(cpu.x)

    def op_tsx() -> None:
        if cpu.x8:
            cpu.x = cpu.s & 0xFF
            nz8(cpu.x)
        else:
            cpu.x = cpu.s
            nz16(cpu.x)

    def op_txs() -> None:  # no flags; in native mode all 16 bits (X's high byte is 0 when X is 8-bit)
        cpu.s = (0x100 | (cpu.x & 0xFF)) if cpu.e else cpu.x

    def op_tcs() -> None:
        cpu.s = (0x100 | (cpu.a & 0xFF)) if cpu.e else cpu.a

    def op_tsc() -> None:
        cpu.a = cpu.s
        nz16(cpu.a)

    def op_tcd() -> None:
        cpu.d = cpu.a
        nz16(cpu.d)

    def op_tdc() -> None:
        cpu.a = cpu.d
        nz16(cpu.a)

    # pushes and pulls
    def op_pha() -> None:
        if cpu.m8:
            push8(cpu.a)
        else:
            push16(cpu.a)

    def op_pla() -> None:
        if cpu.m8:
            value = pull8()
            cpu.a = (cpu.a & 0xFF00) | value
            nz8(value)
        else:
            cpu.a = pull16()
            nz16(cpu.a)

    def op_phx() -> None:
        if cpu.x8:
            push8(cpu.x)
        else:
            push16(cpu.x)

    def op_plx() -> None:
        if cpu.x8:
            cpu.x = pull8()
            nz8(cpu.x)
        else:
            cpu.x = pull16()
            nz16(cpu.x)

    def op_phy() -> None:
        if cpu.x8:
            push8(cpu.y)
        else:
            push16(cpu.y)

    def op_ply() -> None:
        if cpu.x8:
            cpu.y = pull8()
            nz8(cpu.y)
        else:
            cpu.y = pull16()
            nz16(cpu.y)

    def op_phb() -> None:
        push8(cpu.db)

    def op_plb() -> None:
        cpu.db = pull8()
        nz8(cpu.db)

    def op_phd() -> None:
        push16(cpu.d)

    def op_pld() -> None:
        cpu.d = pull16()
        nz16(cpu.d)

    def op_phk() -> None:
        push8(cpu.pb)

    def op_php() -> None:
        push8(cpu.p)

    def op_plp() -> None:
        cpu.p = pull8()

    def op_pea() -> None:
        push16(fetch16())

    def op_pei() -> None:
        push16(rd16_bank0((cpu.d + fetch8()) & 0xFFFF))

    def op_per() -> None:
        offset = fetch16()
        push16((cpu.pc + offset) & 0xFFFF)

    def make_block_move(step: int) -> Callable:
        def block_move() -> None:
            destination = fetch8()
            source = fetch8()
            wr8(destination << 16 | cpu.y, rd8(source << 16 | cpu.x))
            cpu.db = destination
            index_mask = 0xFF if cpu.x8 else 0xFFFF
            cpu.x = (cpu.x + step) & index_mask
            cpu.y = (cpu.y + step) & index_mask
            cpu.a = (cpu.a - 1) & 0xFFFF
            if cpu.a != 0xFFFF:
                cpu.pc = (cpu.pc - 3) & 0xFFFF  # run the same MVN/MVP again for the next byte

        return block_move

    def halt(reason: str) -> Callable:
        def stop() -> None:
            raise _Halt(reason)

        return stop

    # -- assemble the table from the opcode matrix ---------------------------------------------------
    registers = {"STA": lambda: cpu.a, "STX": lambda: cpu.x, "STY": lambda: cpu.y, "STZ": lambda: 0}
    branches = {
        "BPL": ("n", False),
        "BMI": ("n", True),
        "BVC": ("v", False),
        "BVS": ("v", True),
        "BCC": ("c", False),
        "BCS": ("c", True),
        "BNE": ("z", False),
        "BEQ": ("z", True),
        "BRA": (None, True),
    }
    flag_ops = {
        "CLC": ("c", False),
        "SEC": ("c", True),
        "CLI": ("irq_disabled", False),
        "SEI": ("irq_disabled", True),
        "CLD": ("decimal", False),
        "SED": ("decimal", True),
        "CLV": ("v", False),
    }
    steps = {"INX": ("x", 1), "DEX": ("x", -1), "INY": ("y", 1), "DEY": ("y", -1)}
    fixed: dict[tuple[str, str], Callable] = {
        ("BRL", "rel16"): op_bra_long,
        ("JMP", "abs"): op_jmp_abs,
        ("JMP", "abs_ind"): op_jmp_ind,
        ("JMP", "abs_x_ind"): op_jmp_x_ind,
        ("JML", "long"): op_jml_long,
        ("JML", "abs_ind_long"): op_jml_ind,
        ("JSR", "abs"): op_jsr_abs,
        ("JSR", "abs_x_ind"): op_jsr_x_ind,
        ("JSL", "long"): op_jsl,
        ("RTS", "imp"): op_rts,
        ("RTL", "imp"): op_rtl,
        ("RTI", "imp"): op_rti,
        ("BRK", "imm8"): make_interrupt(VECTOR_BRK_NATIVE, VECTOR_BRK_EMULATION, is_brk=True),
        ("COP", "imm8"): make_interrupt(VECTOR_COP_NATIVE, VECTOR_COP_EMULATION, is_brk=False),
        ("WDM", "imm8"): op_wdm,
        ("STP", "imp"): halt(STOP_STP),
        ("WAI", "imp"): halt(STOP_WAI),
        ("NOP", "imp"): op_nop,
        ("REP", "imm8"): op_rep,
        ("SEP", "imm8"): op_sep,
        ("XCE", "imp"): op_xce,
        ("XBA", "imp"): op_xba,
        ("TAX", "imp"): op_tax,
        ("TAY", "imp"): op_tay,
        ("TXA", "imp"): op_txa,
        ("TYA", "imp"): op_tya,
        ("TXY", "imp"): op_txy,
        ("TYX", "imp"): op_tyx,
        ("TSX", "imp"): op_tsx,
        ("TXS", "imp"): op_txs,
        ("TCS", "imp"): op_tcs,
        ("TSC", "imp"): op_tsc,
        ("TCD", "imp"): op_tcd,
        ("TDC", "imp"): op_tdc,
        ("PHA", "imp"): op_pha,
        ("PLA", "imp"): op_pla,
        ("PHX", "imp"): op_phx,
        ("PLX", "imp"): op_plx,
        ("PHY", "imp"): op_phy,
        ("PLY", "imp"): op_ply,
        ("PHB", "imp"): op_phb,
        ("PLB", "imp"): op_plb,
        ("PHD", "imp"): op_phd,
        ("PLD", "imp"): op_pld,
        ("PHK", "imp"): op_phk,
        ("PHP", "imp"): op_php,
        ("PLP", "imp"): op_plp,
        ("PEA", "imm16"): op_pea,
        ("PEI", "dp_ind"): op_pei,
        ("PER", "rel16"): op_per,
        ("MVN", "block"): make_block_move(1),
        ("MVP", "block"): make_block_move(-1),
    }

    handlers: list[Callable[[], None]] = []
    for info in OPCODES:
        mnemonic, mode = info.mnemonic, info.mode
        if (mnemonic, mode) in fixed:
            handler = fixed[(mnemonic, mode)]
        elif mnemonic == "BIT" and mode == "imm_m":
            handler = make_read(bit_imm8, bit_imm16, False, mode)
        elif mnemonic in read_ops:
            op8, op16, index = read_ops[mnemonic]
            handler = make_read(op8, op16, index, mode)
        elif mnemonic in registers:
            handler = make_store(registers[mnemonic], mnemonic in ("STX", "STY"), mode)
        elif mnemonic in rmw_ops:
            handler = make_rmw(rmw_ops[mnemonic], mode)
        elif mnemonic in branches:
            handler = make_branch(*branches[mnemonic])
        elif mnemonic in flag_ops:
            handler = make_flag(*flag_ops[mnemonic])
        elif mnemonic in steps:
            handler = make_index_step(*steps[mnemonic])
        else:  # pragma: no cover - the matrix and this function must agree
            raise AssertionError(f"no handler for ${info.opcode:02X} {mnemonic} {mode}")
        handlers.append(handler)
    return handlers


# ------------------------------------------------------------------------------------------ state specs


@dataclass
class StateSpec:
    """Registers, flags and memory a test or generator spec sets before a call or expects after it.

    Every field is optional: ``None`` means "leave as is" for :meth:`apply` and "don't care" for
    :meth:`mismatches`. ``a`` is the full 16-bit accumulator (C); ``a_low`` only its low byte, for an
    8-bit accumulator whose hidden B is irrelevant. Widths are ``m8``/``x8`` (True = 8-bit). Memory maps
    24-bit addresses to a byte (int) or a run of bytes; use :func:`word` for little-endian 16-bit values.
    """

    a: int | None = None
    a_low: int | None = None
    x: int | None = None
    y: int | None = None
    s: int | None = None
    d: int | None = None
    db: int | None = None
    pb: int | None = None
    pc: int | None = None
    e: bool | None = None
    m8: bool | None = None
    x8: bool | None = None
    n: bool | None = None
    v: bool | None = None
    z: bool | None = None
    c: bool | None = None
    decimal: bool | None = None
    irq_disabled: bool | None = None
    memory: dict[int, int | bytes] = field(default_factory=dict)

    _FLAGS = ("n", "v", "z", "c", "decimal", "irq_disabled")
    _REGISTERS = ("a", "x", "y", "s", "d", "db", "pb", "pc")

    def apply(self, cpu: CPU) -> None:
        """Set the given fields: mode first, then widths, then flags and registers (so widths don't mask them)."""
        if self.e is not None:
            cpu.set_emulation(self.e)
        if self.m8 is not None or self.x8 is not None:
            if cpu.e and (self.m8 is False or self.x8 is False):
                raise ValueError("16-bit registers need native mode (e=False)")
            p = cpu.p
            if self.m8 is not None:
                p = p | FLAG_M if self.m8 else p & ~FLAG_M
            if self.x8 is not None:
                p = p | FLAG_X if self.x8 else p & ~FLAG_X
            cpu.p = p
        for name in self._FLAGS:
            value = getattr(self, name)
            if value is not None:
                setattr(cpu, name, value)
        for name in ("x", "y"):
            value = getattr(self, name)
            if value is not None and cpu.x8 and value > 0xFF:
                raise ValueError(f"{name}=${value:04X} does not fit an 8-bit index register")
        if self.s is not None and cpu.e and self.s >> 8 != 1:
            raise ValueError("in emulation mode S must be in page 1")
        for name in self._REGISTERS:
            value = getattr(self, name)
            if value is not None:
                setattr(cpu, name, value)
        if self.a_low is not None:
            cpu.a = (cpu.a & 0xFF00) | self.a_low
        for address, data in self.memory.items():
            cpu.memory.load(address, bytes([data]) if isinstance(data, int) else data)

    def mismatches(self, cpu: CPU) -> list[str]:
        """Human-readable differences between this expectation and the CPU's state (empty = match)."""
        problems = []
        actual = {
            "a": cpu.a,
            "x": cpu.x,
            "y": cpu.y,
            "s": cpu.s,
            "d": cpu.d,
            "db": cpu.db,
            "pb": cpu.pb,
            "pc": cpu.pc,
            "a_low": cpu.a & 0xFF,
        }
        digits = {"db": 2, "pb": 2, "a_low": 2}
        for name, value in actual.items():
            expected = getattr(self, name)
            if expected is not None and expected != value:
                width = digits.get(name, 4)
                problems.append(f"{name.upper()}: expected ${expected:0{width}X}, got ${value:0{width}X}")
        for name in ("e", "m8", "x8", *self._FLAGS):
            expected = getattr(self, name)
            if expected is not None and expected != getattr(cpu, name):
                problems.append(f"{name}: expected {expected}, got {getattr(cpu, name)}")
        for address, data in self.memory.items():
            expected_bytes = bytes([data]) if isinstance(data, int) else bytes(data)
            got = cpu.memory.peek(address, len(expected_bytes))
            if got != expected_bytes:
                problems.append(
                    f"${address:06X}: expected {expected_bytes.hex(' ').upper()}, got {got.hex(' ').upper()}"
                )
        return problems


def word(value: int) -> bytes:
    """A 16-bit value as the two little-endian bytes the 65816 stores."""
    return (value & 0xFFFF).to_bytes(2, "little")


# ------------------------------------------------------------------------------------------ call harness

RETURNED = "returned"
BAD_RETURN = "bad_return"
DEFAULT_LONG_RETURN = 0x7FFFF0  # JSL sentinel: never executed, the return is caught when it happens
DEFAULT_SHORT_RETURN = 0xFFF0  # JSR sentinel, inside the routine's bank


@dataclass(frozen=True)
class CallResult:
    """How a called routine ended.

    ``reason``: ``returned`` (the matching RTS/RTL landed exactly on the sentinel with S restored),
    ``bad_return`` (it returned somewhere else or with S off - e.g. RTS after JSL), ``budget``, ``stp``,
    ``wai`` or ``brk``. ``s_delta`` is final S minus S before the call (0 for a balanced routine).
    """

    reason: str
    instructions: int
    before: Registers
    after: Registers
    s_delta: int
    expected_return: int
    return_address: int | None
    stop_address: int
    detail: str = ""

    @property
    def returned(self) -> bool:
        return self.reason == RETURNED


def _signed16(value: int) -> int:
    value &= 0xFFFF
    return value - 0x10000 if value & 0x8000 else value


def call(
    cpu: CPU,
    address: int,
    *,
    long: bool,
    max_instructions: int = 100_000,
    return_to: int | None = None,
    stop_on_brk: bool = True,
) -> CallResult:
    """Call the routine at a 24-bit address as JSL (``long=True``, 3-byte return) or JSR (2 bytes).

    The harness pushes a return address pointing at a sentinel, then runs until a return instruction
    pops the stack above that frame. Only a return of the matching kind lands on the sentinel with S
    back where it was; anything else (RTS after JSL leaves one byte on the stack and lands in the wrong
    bank or at S-1) is a ``bad_return``. BRK stops the call by default: a routine that runs into
    zeroed memory executes $00. The harness's own pushed bytes are restored afterwards (when the routine
    left them alone) so memory diffs show only what the routine wrote.
    """
    before = cpu.registers
    s_entry = cpu.s
    bank = address >> 16
    if long:
        sentinel = DEFAULT_LONG_RETURN if return_to is None else return_to & 0xFFFFFF
    else:
        sentinel = bank << 16 | ((DEFAULT_SHORT_RETURN if return_to is None else return_to) & 0xFFFF)
    pushed = [(sentinel >> 16) & 0xFF] if long else []
    pushed += [((sentinel - 1) >> 8) & 0xFF, (sentinel - 1) & 0xFF]
    stack_addresses = []
    saved = []
    for value in pushed:
        stack_addresses.append(cpu.s)
        saved.append(cpu.memory.peek(cpu.s)[0])
        cpu.push8(value)
    cpu.pb = bank
    cpu.pc = address & 0xFFFF
    previous_floor, previous_brk = cpu.return_floor, cpu.stop_on_brk
    cpu.return_floor = cpu.s
    cpu.stop_on_brk = stop_on_brk
    try:
        run = cpu.run(max_instructions)
    finally:
        cpu.return_floor, cpu.stop_on_brk = previous_floor, previous_brk
    for stack_address, value, old in zip(stack_addresses, pushed, saved, strict=True):
        if cpu.memory.peek(stack_address)[0] == value:
            cpu.memory.load(stack_address, bytes([old]))

    after = cpu.registers
    s_delta = _signed16(cpu.s - s_entry)
    landed = cpu.pb << 16 | cpu.pc
    reason, detail, return_address = run.reason, "", None
    if run.reason == STOP_RETURN:
        return_address = landed
        if landed == sentinel and s_delta == 0:
            reason = RETURNED
        else:
            reason = BAD_RETURN
            kind = {0x60: "RTS", 0x6B: "RTL", 0x40: "RTI"}.get(cpu.memory.peek(run.address)[0], "return")
            expected = "RTL" if long else "RTS"
            detail = (
                f"{kind} at ${run.address:06X} went to ${landed:06X} with S {s_delta:+d} "
                f"(a {'JSL' if long else 'JSR'} call expects {expected} to ${sentinel:06X} with S +0)"
            )
    elif run.reason == STOP_BUDGET:
        detail = f"no return after {run.instructions} instructions (last at ${run.address:06X})"
    else:
        detail = f"{run.reason.upper()} at ${run.address:06X}"
    return CallResult(reason, run.instructions, before, after, s_delta, sentinel, return_address, run.address, detail)

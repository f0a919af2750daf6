"""A pure-Python 65816 (SNES CPU) interpreter for validators that run short routines.

Typical use::

    from curation.asm import CPU, Memory, StateSpec, call

    cpu = CPU(Memory(rom))
    StateSpec(m8=False, x8=True, db=0x7E, memory={0x7E0010: 0x05}).apply(cpu)
    result = call(cpu, 0x0EE1A0, long=True)
    assert result.returned and result.s_delta == 0, result.detail
    assert not StateSpec(a=0x0006).mismatches(cpu)
"""

from curation.asm.cpu import (
    BAD_RETURN,
    CPU,
    RETURNED,
    STOP_BRK,
    STOP_BUDGET,
    STOP_RETURN,
    STOP_STP,
    STOP_WAI,
    CallResult,
    Registers,
    RunResult,
    StateSpec,
    TraceEntry,
    add_with_carry,
    call,
    subtract_with_borrow,
    word,
)
from curation.asm.memory import ByteChange, Memory, MemorySnapshot, diff_snapshots
from curation.asm.opcodes import OPCODES, OpcodeInfo, disassemble, disassemble_all, instruction_length

__all__ = [
    "BAD_RETURN",
    "CPU",
    "OPCODES",
    "RETURNED",
    "STOP_BRK",
    "STOP_BUDGET",
    "STOP_RETURN",
    "STOP_STP",
    "STOP_WAI",
    "ByteChange",
    "CallResult",
    "Memory",
    "MemorySnapshot",
    "OpcodeInfo",
    "Registers",
    "RunResult",
    "StateSpec",
    "TraceEntry",
    "add_with_carry",
    "call",
    "diff_snapshots",
    "disassemble",
    "disassemble_all",
    "instruction_length",
    "subtract_with_borrow",
    "word",
]

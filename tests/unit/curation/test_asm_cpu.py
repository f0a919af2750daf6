"""The 65816 interpreter (curation.asm): hand-worked results per opcode group, the call harness, the
memory map, and encoding agreement with the real Asar assembler for all 256 opcodes."""

from __future__ import annotations

import re

import pytest

from curation.asm import (
    BAD_RETURN,
    CPU,
    OPCODES,
    RETURNED,
    STOP_BRK,
    STOP_BUDGET,
    STOP_STP,
    STOP_WAI,
    Memory,
    StateSpec,
    add_with_carry,
    call,
    diff_snapshots,
    disassemble,
    disassemble_all,
    instruction_length,
    subtract_with_borrow,
    word,
)
from curation.validators.asar import Asar

STP = "DB"


def make_cpu(code: str, *, at: int = 0x008000, **state) -> CPU:
    """A CPU with ``code`` (hex bytes) loaded at ``at`` and PB:PC pointing there, state applied."""
    memory = Memory()
    memory.load(at, bytes.fromhex(code))
    cpu = CPU(memory)
    cpu.pb, cpu.pc = at >> 16, at & 0xFFFF
    StateSpec(**state).apply(cpu)
    return cpu


def run(code: str, **state) -> CPU:
    """Run ``code`` followed by STP; it must stop there."""
    cpu = make_cpu(f"{code} {STP}", **state)
    result = cpu.run(10_000)
    assert result.reason == STOP_STP, result
    return cpu


# ---------------------------------------------------------------------------------------- loads and stores


def test_lda_direct_page_adds_d_in_both_widths():
    cpu = run("A5 10", d=0x1000, memory={0x7E1010: 0x42})  # LDA $10
    assert cpu.a & 0xFF == 0x42 and not cpu.z and not cpu.n
    cpu = run("A5 10", d=0x1000, m8=False, memory={0x7E1010: word(0xBEEF)})
    assert cpu.a == 0xBEEF and cpu.n


def test_sta_absolute_uses_data_bank():
    cpu = run("8D 34 12", db=0x7F, a=0xCDAB)  # STA $1234, 8-bit: one byte
    assert cpu.memory.peek(0x7F1234, 2) == b"\xab\x00"
    cpu = run("8D 34 12", db=0x7F, a=0xBEEF, m8=False)
    assert cpu.memory.peek(0x7F1234, 2) == b"\xef\xbe"


def test_lda_long_and_long_indexed():
    cpu = run("AF C5 F3 7E", memory={0x7EF3C5: 0x99})  # LDA $7EF3C5
    assert cpu.a & 0xFF == 0x99 and cpu.n
    cpu = run("BF 00 F0 7E", x=0x10, m8=False, memory={0x7EF010: word(0x1234)})  # LDA $7EF000,X
    assert cpu.a == 0x1234


def test_absolute_indexed_carries_into_next_bank():
    cpu = run("BD FF FF", db=0x7E, x8=False, x=2, m8=False, memory={0x7F0001: word(0x5AA5)})  # LDA $FFFF,X
    assert cpu.a == 0x5AA5
    cpu = run("9F F0 FF 7E", x8=False, x=0x20, a=0x77)  # STA $7EFFF0,X -> $7F0010
    assert cpu.memory.peek(0x7F0010) == b"\x77"


def test_stack_relative_and_stack_relative_indirect_indexed():
    cpu = run("A9 11 48 A9 22 48 A3 02")  # LDA #$11 PHA LDA #$22 PHA LDA $02,S
    assert cpu.a & 0xFF == 0x11 and cpu.s == 0x01FD
    cpu = run("F4 00 20 A0 03 B3 01", db=0x7E, memory={0x7E2003: 0x5A})  # PEA $2000 LDY #$03 LDA ($01,S),Y
    assert cpu.a & 0xFF == 0x5A


def test_direct_page_indirect_modes():
    pointer = {0x000020: bytes([0x00, 0x30, 0x7F]), 0x7F3000: bytes([1, 2, 3, 4, 5])}
    assert run("B7 20", y=4, memory=pointer).a & 0xFF == 5  # LDA [$20],Y -> $7F3004
    assert run("A7 20", memory=pointer).a & 0xFF == 1  # LDA [$20]
    assert run("B1 20", db=0x7F, y=2, memory=pointer).a & 0xFF == 3  # LDA ($20),Y with DB
    assert run("B2 20", db=0x7F, memory=pointer).a & 0xFF == 1  # LDA ($20)
    assert run("A1 1E", db=0x7F, x=2, memory=pointer).a & 0xFF == 1  # LDA ($1E,X)
    cpu = run("97 20", y=1, a=0xEE, memory=pointer)  # STA [$20],Y
    assert cpu.memory.peek(0x7F3001) == b"\xee"


def test_direct_page_indexed_and_16_bit_accesses_wrap_in_bank_zero():
    cpu = run("B5 F0", d=0xFF00, x8=False, x=0x20, memory={0x000010: 0x3C})  # LDA $F0,X -> $00:0010
    assert cpu.a & 0xFF == 0x3C
    cpu = run("85 FF", d=0xFF00, m8=False, a=0xBEEF)  # STA $FF: low byte at $00FFFF (ROM), high at $000000
    assert cpu.memory.rom_writes == [(0x00FFFF, 0xEF)]
    assert cpu.memory.peek(0x7E0000) == b"\xbe"


def test_other_stores():
    cpu = run("96 10", x=0x44, y=2)  # STX $10,Y
    assert cpu.memory.peek(0x12) == b"\x44"
    cpu = run("8C 00 10", db=0x7E, x8=False, y=0x1234)  # STY $1000
    assert cpu.memory.peek(0x7E1000, 2) == word(0x1234)
    cpu = run("9C 00 10", db=0x7E, m8=False, memory={0x7E1000: b"\xff\xff\xff"})  # STZ $1000 (16-bit)
    assert cpu.memory.peek(0x7E1000, 3) == b"\x00\x00\xff"
    cpu = run("64 10", memory={0x10: b"\xff\xff"})  # STZ $10 (8-bit)
    assert cpu.memory.peek(0x10, 2) == b"\x00\xff"


def test_ldx_ldy_follow_the_index_width():
    cpu = run("A2 34 12", x8=False)  # LDX #$1234
    assert cpu.x == 0x1234
    cpu = run("A0 80")  # LDY #$80
    assert cpu.y == 0x80 and cpu.n


# ---------------------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(
    ("a", "operand", "carry", "expected", "c", "v", "n", "z"),
    [
        (0x7F, "01", False, 0x80, False, True, True, False),
        (0xFF, "01", False, 0x00, True, False, False, True),
        (0x80, "FF", False, 0x7F, True, True, False, False),
        (0x10, "20", True, 0x31, False, False, False, False),
    ],
)
def test_adc_binary_8_bit(a, operand, carry, expected, c, v, n, z):
    cpu = run(f"69 {operand}", a=a, c=carry)
    assert (cpu.a & 0xFF, cpu.c, cpu.v, cpu.n, cpu.z) == (expected, c, v, n, z)


def test_adc_binary_16_bit():
    cpu = run("69 01 00", a=0x7FFF, m8=False, c=False)
    assert (cpu.a, cpu.v, cpu.n, cpu.c) == (0x8000, True, True, False)
    cpu = run("69 01 00", a=0xFFFF, m8=False, c=False)
    assert (cpu.a, cpu.c, cpu.z, cpu.v) == (0x0000, True, True, False)


def test_adc_8_bit_keeps_the_hidden_b_byte():
    assert run("69 01", a=0xAB0F, c=False).a == 0xAB10


def test_sbc_binary():
    cpu = run("E9 F0", a=0x50, c=True)
    assert (cpu.a & 0xFF, cpu.c, cpu.v) == (0x60, False, False)
    cpu = run("E9 B0", a=0x50, c=True)
    assert (cpu.a & 0xFF, cpu.c, cpu.v, cpu.n) == (0xA0, False, True, True)
    cpu = run("E9 01", a=0x00, c=True)
    assert (cpu.a & 0xFF, cpu.c) == (0xFF, False)
    cpu = run("E9 01", a=0x05, c=False)  # borrow in
    assert (cpu.a & 0xFF, cpu.c) == (0x03, True)
    cpu = run("E9 01 00", a=0x0000, m8=False, c=True)
    assert (cpu.a, cpu.c, cpu.n) == (0xFFFF, False, True)
    cpu = run("E9 01 00", a=0x8000, m8=False, c=True)
    assert (cpu.a, cpu.v) == (0x7FFF, True)


def test_decimal_mode_hand_worked():
    assert run("69 01", a=0x09, decimal=True, c=False).a & 0xFF == 0x10
    cpu = run("69 01", a=0x99, decimal=True, c=False)
    assert (cpu.a & 0xFF, cpu.c, cpu.z) == (0x00, True, True)
    cpu = run("69 01 00", a=0x1999, m8=False, decimal=True, c=False)
    assert (cpu.a, cpu.c) == (0x2000, False)
    cpu = run("E9 01", a=0x10, decimal=True, c=True)
    assert (cpu.a & 0xFF, cpu.c) == (0x09, True)
    cpu = run("E9 01", a=0x00, decimal=True, c=True)
    assert (cpu.a & 0xFF, cpu.c) == (0x99, False)
    cpu = run("E9 01 00", a=0x2000, m8=False, decimal=True, c=True)
    assert (cpu.a, cpu.c) == (0x1999, True)


def _bcd(value: int) -> int:
    return int(str(value), 16)


def test_decimal_mode_matches_bcd_arithmetic_for_all_valid_digits():
    for a in range(100):
        for b in range(100):
            for carry in (False, True):
                total = a + b + carry
                assert add_with_carry(_bcd(a), _bcd(b), carry, 8, True)[:2] == (_bcd(total % 100), total >= 100)
                difference = a - b - (not carry)
                expected = (_bcd(difference % 100), difference >= 0)
                assert subtract_with_borrow(_bcd(a), _bcd(b), carry, 8, True)[:2] == expected
    for a, b in [(1234, 8766), (9999, 1), (4321, 1234), (0, 9999), (5000, 4999)]:
        total, difference = a + b, a - b
        assert add_with_carry(_bcd(a), _bcd(b), False, 16, True)[:2] == (_bcd(total % 10000), total >= 10000)
        assert subtract_with_borrow(_bcd(a), _bcd(b), True, 16, True)[:2] == (
            _bcd(difference % 10000),
            difference >= 0,
        )


def test_compare_flags():
    cpu = run("C9 40", a=0x40)
    assert (cpu.z, cpu.c, cpu.n) == (True, True, False)
    cpu = run("C9 41", a=0x40)
    assert (cpu.z, cpu.c, cpu.n) == (False, False, True)
    cpu = run("C9 30", a=0x40)
    assert (cpu.z, cpu.c, cpu.n) == (False, True, False)
    cpu = run("E0 00 80", x8=False, x=0x7FFF)  # CPX #$8000
    assert (cpu.c, cpu.n, cpu.z) == (False, True, False)
    cpu = run("C0 05", y=0x05)  # CPY #$05
    assert cpu.z and cpu.c
    cpu = run("C9 01", a=0xFF00)  # 8-bit CMP ignores B
    assert not cpu.c and cpu.n


def test_logic():
    assert run("29 0F", a=0x3C).a & 0xFF == 0x0C  # AND
    assert run("09 0F", a=0x30).a & 0xFF == 0x3F  # ORA
    cpu = run("49 FF 00", a=0x00FF, m8=False)  # EOR #$00FF
    assert cpu.a == 0 and cpu.z


# ---------------------------------------------------------------------------------------- shifts, BIT, RMW


def test_shifts_and_rotates():
    cpu = run("0A", a=0x81)  # ASL A
    assert (cpu.a & 0xFF, cpu.c, cpu.n) == (0x02, True, False)
    cpu = run("4E 00 10", db=0x7E, m8=False, memory={0x7E1000: word(0x8001)})  # LSR $1000 (16-bit)
    assert cpu.memory.peek(0x7E1000, 2) == word(0x4000) and cpu.c
    cpu = run("2A", a=0x80, c=True)  # ROL A
    assert (cpu.a & 0xFF, cpu.c) == (0x01, True)
    cpu = run("6A", a=0x0001, m8=False, c=True)  # ROR A 16-bit
    assert (cpu.a, cpu.c, cpu.n) == (0x8000, True, True)
    cpu = run("26 10", c=False, memory={0x10: 0x40})  # ROL $10
    assert cpu.memory.peek(0x10) == b"\x80" and cpu.n and not cpu.c


def test_bit():
    cpu = run("24 10", a=0x00, memory={0x10: 0xC0})  # BIT $10
    assert (cpu.n, cpu.v, cpu.z) == (True, True, True)
    cpu = run("89 00", a=0xFF, n=True, v=True)  # BIT #$00 only touches Z
    assert (cpu.n, cpu.v, cpu.z) == (True, True, True)
    cpu = run("89 00 80", a=0x8000, m8=False, n=False, v=False)
    assert (cpu.n, cpu.v, cpu.z) == (False, False, False)
    cpu = run("2C 00 10", db=0x7E, m8=False, a=0x0001, memory={0x7E1000: word(0x4001)})  # BIT $1000 16-bit
    assert (cpu.n, cpu.v, cpu.z) == (False, True, False)


def test_tsb_trb():
    cpu = run("04 10", a=0x0F, memory={0x10: 0x30})  # TSB $10
    assert cpu.memory.peek(0x10) == b"\x3f" and cpu.z
    cpu = run("14 10", a=0x30, memory={0x10: 0x3F})  # TRB $10
    assert cpu.memory.peek(0x10) == b"\x0f" and not cpu.z


def test_inc_dec_memory_and_registers():
    cpu = run("EE 00 10", db=0x7E, m8=False, memory={0x7E1000: word(0x00FF)})  # INC $1000
    assert cpu.memory.peek(0x7E1000, 2) == word(0x0100)
    cpu = run("C6 10", memory={0x10: 0x01})  # DEC $10
    assert cpu.memory.peek(0x10) == b"\x00" and cpu.z
    assert run("3A", a=0x1200).a == 0x12FF  # DEC A (8-bit) keeps B
    cpu = run("E8", x=0xFF)  # INX wraps in 8 bits
    assert cpu.x == 0 and cpu.z
    cpu = run("88", x8=False, y=0)  # DEY 16-bit
    assert cpu.y == 0xFFFF and cpu.n
    cpu = run("1A", a=0x7FFF, m8=False)  # INC A 16-bit
    assert cpu.a == 0x8000 and cpu.n


# ---------------------------------------------------------------------------------------- transfers and modes


def test_transfers_respect_widths():
    cpu = run("AA", a=0x1234, m8=False, x8=True)  # TAX, 8-bit X keeps only the low byte
    assert cpu.x == 0x34
    cpu = run("AA", a=0x1234, m8=True, x8=False)  # TAX, 16-bit X takes all of C even with 8-bit A
    assert cpu.x == 0x1234
    cpu = run("8A", a=0xAB00, x=0x12)  # TXA, 8-bit A keeps B
    assert cpu.a == 0xAB12
    cpu = run("98", a=0xFFFF, m8=False, y=0x80)  # TYA 16-bit from 8-bit Y: high byte 0
    assert cpu.a == 0x0080 and not cpu.n
    cpu = run("9A", x8=False, x=0x1FF0)  # TXS native: 16 bits
    assert cpu.s == 0x1FF0
    cpu = run("BA", x8=False, s=0x1FF0)  # TSX
    assert cpu.x == 0x1FF0
    cpu = run("3B", s=0x01F0)  # TSC: always 16-bit
    assert cpu.a == 0x01F0
    cpu = run("5B", a=0x8000, m8=False)  # TCD
    assert cpu.d == 0x8000 and cpu.n
    cpu = run("7B", d=0x0300)  # TDC
    assert cpu.a == 0x0300
    cpu = run("1B", a=0x1F00, m8=False)  # TCS
    assert cpu.s == 0x1F00
    cpu = run("9B", x8=False, x=0x1234)  # TXY
    assert cpu.y == 0x1234
    cpu = run("BB", y=0x00)  # TYX
    assert cpu.x == 0 and cpu.z


def test_xba_sets_flags_from_the_new_low_byte():
    cpu = run("EB", a=0x1280)
    assert cpu.a == 0x8012 and not cpu.n and not cpu.z
    cpu = run("EB", a=0x8000)
    assert cpu.a == 0x0080 and cpu.n
    cpu = run("EB", a=0x0012)
    assert cpu.a == 0x1200 and cpu.z


def test_xce_into_and_out_of_emulation():
    cpu = run("FB", m8=False, x8=False, x=0x1234, y=0x5678, s=0x1FF0, c=True)  # XCE with C=1
    assert cpu.e and not cpu.c and cpu.m8 and cpu.x8
    assert (cpu.x, cpu.y, cpu.s) == (0x34, 0x78, 0x01F0)
    cpu = run("FB 18 FB C2 30", m8=False, c=True)  # into emulation, CLC, XCE back, REP #$30
    assert not cpu.e and cpu.c and not cpu.m8 and not cpu.x8


def test_rep_sep():
    cpu = run("C2 30")
    assert not cpu.m8 and not cpu.x8
    cpu = run("E2 10", x8=False, x=0x1234, y=0xABCD)  # SEP #$10 drops the index high bytes
    assert cpu.x8 and (cpu.x, cpu.y) == (0x34, 0xCD)
    cpu = run("C2 30", e=True)  # emulation: widths stay 8-bit
    assert cpu.m8 and cpu.x8
    cpu = run("C2 01", c=True)  # REP #$01 = CLC
    assert not cpu.c


def test_php_plp_restore_widths():
    cpu = run("08 C2 30 28")  # PHP REP #$30 PLP
    assert cpu.m8 and cpu.x8 and cpu.s == 0x01FF
    cpu = run("08 E2 30 28", m8=False, x8=False)  # PHP SEP #$30 PLP
    assert not cpu.m8 and not cpu.x8


def test_push_pull_bank_and_direct_page():
    cpu = run("8B A9 7F 48 AB", db=0x12)  # PHB LDA #$7F PHA PLB
    assert cpu.db == 0x7F and cpu.s == 0x01FE
    cpu = run("8B A9 7F 48 AB AB", db=0x12)  # ... PLB again
    assert cpu.db == 0x12 and cpu.s == 0x01FF
    cpu = run("0B A9 00 00 5B 2B", d=0x1234, m8=False)  # PHD LDA #$0000 TCD PLD
    assert cpu.d == 0x1234 and cpu.s == 0x01FF
    cpu = run("4B AB", at=0x018000)  # PHK PLB
    assert cpu.db == 0x01


def test_pha_pla_widths():
    cpu = run("48 A9 00 00 68", a=0xBEEF, m8=False)  # PHA LDA #0 PLA
    assert cpu.a == 0xBEEF and cpu.s == 0x01FF
    cpu = run("DA 7A", x8=False, x=0x1234)  # PHX PLY
    assert cpu.y == 0x1234
    cpu = run("5A FA", y=0x80)  # PHY PLX 8-bit
    assert cpu.x == 0x80 and cpu.n and cpu.s == 0x01FF


def test_pea_per_pei():
    cpu = run("F4 34 12")  # PEA $1234
    assert cpu.memory.peek(0x01FE, 2) == word(0x1234) and cpu.s == 0x01FD
    cpu = run("62 10 00")  # PER: at $8000, next instruction $8003 -> pushes $8013
    assert cpu.memory.peek(0x01FE, 2) == word(0x8013)
    cpu = run("D4 10", d=0x0100, memory={0x000110: word(0x5678)})  # PEI ($10)
    assert cpu.memory.peek(0x01FE, 2) == word(0x5678)


# ---------------------------------------------------------------------------------------- control flow


def test_branches_forward_and_backward():
    cpu = run("A9 00 F0 02 A9 01")  # LDA #0 BEQ +2 (skips LDA #1)
    assert cpu.a & 0xFF == 0
    cpu = make_cpu(f"A2 05 CA D0 FD {STP}")  # LDX #5; loop: DEX; BNE loop
    result = cpu.run(100)
    assert result.reason == STOP_STP and cpu.x == 0 and result.instructions == 12
    cpu = run("18 90 01 DB E8", x=0)  # CLC BCC +1 over a STP, INX
    assert cpu.x == 1


def test_brl_and_branch_wrapping_in_the_bank():
    cpu = run("82 03 00 A9 01 DB A9 02")  # BRL +3 -> $8006: LDA #2
    assert cpu.a & 0xFF == 2
    cpu = make_cpu("80 02", at=0x7EFFFE, memory={0x7E0002: 0xDB})  # BRA at $7E:FFFE wraps to $7E:0002
    result = cpu.run(10)
    assert result.reason == STOP_STP and result.address == 0x7E0002


def test_jsr_rts():
    cpu = run("20 05 80 E8 DB A2 10 60")  # JSR $8005; INX; STP; $8005: LDX #$10; RTS
    assert cpu.x == 0x11 and cpu.s == 0x01FF
    assert cpu.memory.peek(0x01FE, 2) == word(0x8002)  # the pushed address of the JSR's last byte


def test_jsl_rtl():
    cpu = make_cpu(f"22 00 80 01 {STP}", memory={0x018000: bytes.fromhex("A9 42 6B")})
    assert cpu.run(100).reason == STOP_STP
    assert cpu.a & 0xFF == 0x42 and cpu.pb == 0 and cpu.pc == 0x8005 and cpu.s == 0x01FF
    assert cpu.memory.peek(0x01FD, 3) == bytes([0x03, 0x80, 0x00])


def test_indirect_jumps():
    target = {0x008010: bytes.fromhex(f"A9 33 {STP}")}
    cpu = make_cpu("7C 00 90", x=2, memory={0x009002: word(0x8010), **target})  # JMP ($9000,X)
    assert cpu.run(10).reason == STOP_STP and cpu.a & 0xFF == 0x33
    cpu = make_cpu("6C 00 02", memory={0x000200: word(0x8010), **target})  # JMP ($0200)
    assert cpu.run(10).reason == STOP_STP and cpu.a & 0xFF == 0x33
    cpu = make_cpu("DC 00 02", memory={0x000200: bytes([0x10, 0x80, 0x01]), 0x018010: bytes.fromhex("A9 44 DB")})
    assert cpu.run(10).reason == STOP_STP and (cpu.pb, cpu.a & 0xFF) == (0x01, 0x44)  # JML [$0200]
    cpu = make_cpu("FC 00 90 DB", x=2, memory={0x009002: word(0x8010), 0x008010: bytes.fromhex("A9 55 60")})
    assert cpu.run(10).reason == STOP_STP and cpu.a & 0xFF == 0x55 and cpu.s == 0x01FF  # JSR ($9000,X)
    cpu = make_cpu("5C 10 80 01", memory={0x018010: bytes.fromhex("DB")})  # JML $018010
    assert cpu.run(10).address == 0x018010


def test_block_moves_copy_a_block():
    source = {0x7F1000: b"ABCD"}
    cpu = run("54 7E 7F", m8=False, x8=False, a=3, x=0x1000, y=0x2000, memory=source)  # MVN $7E,$7F
    assert cpu.memory.peek(0x7E2000, 5) == b"ABCD\x00"
    assert (cpu.a, cpu.x, cpu.y, cpu.db) == (0xFFFF, 0x1004, 0x2004, 0x7E)
    cpu = run("44 7E 7F", m8=False, x8=False, a=3, x=0x1003, y=0x2003, memory=source)  # MVP $7E,$7F
    assert cpu.memory.peek(0x7E2000, 4) == b"ABCD"
    assert (cpu.a, cpu.x, cpu.y) == (0xFFFF, 0x0FFF, 0x1FFF)


def test_brk_native_pushes_pb_pc_p_and_rti_returns():
    cpu = make_cpu(f"F8 00 12 {STP}", memory={0x00FFE6: word(0x9000), 0x009000: bytes.fromhex("A9 55 40")})
    cpu.irq_disabled = False
    cpu.run(3)  # SED, BRK, LDA #$55: now inside the handler
    assert cpu.memory.peek(0x01FC, 4) == bytes([0x08 | 0x30, 0x03, 0x80, 0x00])  # P, PC+2 low/high, PB
    assert cpu.irq_disabled and not cpu.decimal and cpu.s == 0x01FB
    assert cpu.run(10).reason == STOP_STP  # RTI restores P (decimal again) and PB:PC
    assert cpu.decimal and not cpu.irq_disabled and cpu.pc == 0x8004 and cpu.s == 0x01FF


def test_cop_native_and_emulation_vectors():
    cpu = make_cpu("02 00", memory={0x00FFE4: word(0x9000), 0x009000: 0xDB})
    assert cpu.run(10).address == 0x009000
    cpu = make_cpu("02 00", e=True, memory={0x00FFF4: word(0x9100), 0x009100: 0xDB})
    assert cpu.run(10).address == 0x009100
    cpu = make_cpu("00 00", e=True, memory={0x00FFFE: word(0x9200), 0x009200: 0xDB})
    assert cpu.run(10).address == 0x009200
    assert cpu.s == 0x01FC and cpu.memory.peek(0x01FD, 3) == bytes([0x34, 0x02, 0x80])  # no PB, B flag set


def test_stp_wai_and_budget():
    assert make_cpu("DB").run().reason == STOP_STP
    assert make_cpu("CB").run().reason == STOP_WAI
    result = make_cpu("80 FE").run(max_instructions=500)  # loop: BRA loop
    assert (result.reason, result.instructions) == (STOP_BUDGET, 500)


def test_wdm_and_nop_skip():
    cpu = run("42 FF EA E8")  # WDM #$FF NOP INX
    assert cpu.x == 1


# ---------------------------------------------------------------------------------------- call harness


def test_call_jsl_rtl_returns():
    cpu = make_cpu("A9 42 6B", at=0x018000)
    result = call(cpu, 0x018000, long=True)
    assert result.reason == RETURNED and result.returned and result.s_delta == 0
    assert result.instructions == 2 and result.after.a & 0xFF == 0x42
    assert cpu.memory.peek(0x01FD, 3) == b"\x00\x00\x00"  # the harness's return address is cleaned up


def test_call_jsl_to_routine_ending_in_rts_is_a_bad_return():
    cpu = make_cpu("A9 42 60", at=0x018000)
    result = call(cpu, 0x018000, long=True)
    assert result.reason == BAD_RETURN and not result.returned
    assert result.s_delta == -1 and "RTS" in result.detail
    # Even when the RTS happens to land on the sentinel's address, S gives it away.
    cpu = make_cpu("60", at=0x008000)
    result = call(cpu, 0x008000, long=True, return_to=0x008100)
    assert result.return_address == 0x008100 and result.reason == BAD_RETURN and result.s_delta == -1


def test_call_jsr_with_rtl_is_a_bad_return_and_jsr_rts_returns():
    assert call(make_cpu("6B"), 0x008000, long=False).reason == BAD_RETURN
    result = call(make_cpu("E8 60"), 0x008000, long=False)
    assert result.returned and result.after.x == 1 and result.expected_return == 0x00FFF0


def test_call_nested_subroutines_do_not_end_the_call():
    cpu = make_cpu("20 05 80 E8 6B E8 60")  # JSR sub; INX; RTL; sub: INX; RTS
    result = call(cpu, 0x008000, long=True)
    assert result.returned and cpu.x == 2 and result.instructions == 5


def test_call_reports_unbalanced_stack_budget_and_brk():
    result = call(make_cpu("8B 6B"), 0x008000, long=True)  # PHB; RTL - leaves S wrong
    assert result.reason == BAD_RETURN
    result = call(make_cpu("80 FE"), 0x008000, long=True, max_instructions=1000)
    assert result.reason == STOP_BUDGET and result.instructions == 1000
    result = call(make_cpu("EA", at=0x7E9000), 0x7E9000, long=True)  # runs into zeroed WRAM: BRK
    assert result.reason == STOP_BRK and result.stop_address == 0x7E9001


def test_call_properties_db_and_s_unchanged():
    cpu = make_cpu("8B A9 7F 48 AB A9 01 8D 00 10 AB 6B", db=0x12)  # PHB / LDA #$7F PHA PLB / STA $1000 / PLB RTL
    before = cpu.memory.snapshot()
    result = call(cpu, 0x008000, long=True)
    assert result.returned and result.after.db == result.before.db == 0x12 and result.s_delta == 0
    changes = cpu.memory.changes_since(before)
    assert [(c.address, c.after) for c in changes if c.address >= 0x7F0000] == [(0x7F1000, 0x01)]


# ---------------------------------------------------------------------------------------- the width bug


def test_classic_width_bug_disassembles_differently():
    code = bytes.fromhex("A9 3C 85 03 60")
    assert disassemble(code, 0, m8=False, x8=True) == ("LDA #$853C", 3)
    assert disassemble(code, 3, m8=False, x8=True) == ("ORA $60,S", 2)
    assert [text for _, text in disassemble_all(code, m8=True, x8=True)] == ["LDA #$3C", "STA.b $03", "RTS"]


def test_classic_width_bug_the_sta_never_runs():
    cpu = make_cpu("A9 3C 85 03 60", m8=False)
    cpu.trace = []
    result = call(cpu, 0x008000, long=False)
    assert result.reason == STOP_BRK  # fell through ORA $60,S into zeroed ROM
    assert [entry.text for entry in cpu.trace] == ["LDA #$853C", "ORA $60,S", "BRK #$00"]
    assert cpu.memory.peek(0x000003) == b"\x00"
    cpu = make_cpu("A9 3C 85 03 60", m8=True)
    assert call(cpu, 0x008000, long=False).returned and cpu.memory.peek(0x000003) == b"\x3c"


def test_trace_records_widths_at_each_step():
    cpu = make_cpu(f"C2 20 A9 34 12 {STP}")
    cpu.trace = []
    cpu.run(10)
    assert [(entry.text, entry.m8) for entry in cpu.trace] == [
        ("REP #$20", True),
        ("LDA #$1234", False),
        ("STP", False),
    ]
    assert "LDA #$1234" in str(cpu.trace[1])


# ---------------------------------------------------------------------------------------- opcodes / disassembly


def test_instruction_lengths():
    assert instruction_length(0xA9, m8=True, x8=False) == 2
    assert instruction_length(0xA9, m8=False, x8=True) == 3
    assert instruction_length(0xA2, m8=False, x8=True) == 2
    assert instruction_length(0xA2, m8=True, x8=False) == 3
    assert instruction_length(0xC2, m8=False, x8=False) == 2
    assert instruction_length(0x22, m8=True, x8=True) == 4
    assert instruction_length(0x54, m8=True, x8=True) == 3
    assert instruction_length(0x00, m8=True, x8=True) == 2


def test_disassembly_text():
    cases = [
        ("A5 10", "LDA.b $10"),
        ("BD 34 12", "LDA.w $1234,X"),
        ("AF C5 F3 7E", "LDA.l $7EF3C5"),
        ("A9 12", "LDA #$12"),
        ("22 A0 E1 0E", "JSL $0EE1A0"),
        ("80 0E", "BRA $8010"),
        ("80 FE", "BRA $8000"),
        ("82 FD FF", "BRL $8000"),
        ("54 7E 7F", "MVN $7E,$7F"),
        ("B7 10", "LDA [$10],Y"),
        ("DC 34 12", "JML [$1234]"),
        ("F4 34 12", "PEA $1234"),
        ("0A", "ASL A"),
    ]
    for code, text in cases:
        assert disassemble(bytes.fromhex(code), 0, m8=True, x8=True)[0] == text
    assert disassemble(bytes.fromhex("A9 12"), 0, m8=False, x8=True) == ("db $A9,$12", 2)  # cut off


# ---------------------------------------------------------------------------------------- memory map


def test_memory_map():
    memory = Memory(rom=bytes(range(256)) * 0x100, sram_size=0x800)  # 64 KiB = two LoROM banks
    memory.write8(0x001234, 5)
    assert memory.read8(0x7E1234) == 5 and memory.read8(0x801234) == 5 and memory.read8(0x7F1234) == 0
    assert memory.read8(0x008001) == 1 and memory.read8(0x018003) == 3 and memory.read8(0x808002) == 2
    memory.write8(0x008000, 0xFF)
    assert memory.read8(0x008000) == 0 and memory.rom_writes == [(0x008000, 0xFF)]
    memory.write8(0x700001, 7)
    assert memory.read8(0x700801) == 7 and memory.read8(0x7D0001) == 7  # 2 KiB SRAM mirrored
    memory.write8(0x002100, 0x8F)
    memory.write16(0x804202, 0x1234)
    assert memory.register_writes == [(0x002100, 0x8F), (0x804202, 0x34), (0x804203, 0x12)]
    memory.register_values[0x4212] = 0x80
    assert memory.read8(0x004212) == 0x80 and memory.register_reads == [0x004212]
    assert memory.read8(0x003000) == 0 and memory.read8(0x028000) == 0  # unmapped; past the ROM's end
    assert memory.unmapped_reads == [0x003000, 0x028000]
    assert memory.read16(0x7EFFFF) == 0x0000 and memory.read24(0x018001) == 0x030201


def test_snapshot_diff():
    memory = Memory()
    before = memory.snapshot()
    memory.write8(0x000010, 1)
    memory.write8(0x7FFFFF, 2)
    memory.write8(0x700000, 3)
    changes = diff_snapshots(before, memory.snapshot())
    assert [(c.address, c.before, c.after) for c in changes] == [
        (0x700000, 0, 3),
        (0x7E0010, 0, 1),
        (0x7FFFFF, 0, 2),
    ]
    assert str(changes[0]) == "$700000: $00 -> $03"


def test_load_grows_rom_and_refuses_registers():
    memory = Memory()
    memory.load(0x038000, b"\xea")
    assert len(memory.rom) == 0x20000 and memory.read8(0x838000) == 0xEA
    with pytest.raises(ValueError, match="register"):
        memory.load(0x002100, b"\x00")


# ---------------------------------------------------------------------------------------- state specs


def test_state_spec_apply_and_mismatches():
    cpu = run("C2 20 A9 34 12 E8", x=0x7F, memory={0x7E0000: 0x01})
    assert StateSpec(a=0x1234, x=0x80, m8=False, x8=True, n=True, memory={0x7E0000: 0x01}).mismatches(cpu) == []
    problems = StateSpec(a=0x1235, m8=True, memory={0x7E0000: word(0x0201)}).mismatches(cpu)
    assert problems == [
        "A: expected $1235, got $1234",
        "m8: expected True, got False",
        "$7E0000: expected 01 02, got 01 00",
    ]
    assert StateSpec(a_low=0x34).mismatches(cpu) == []
    with pytest.raises(ValueError, match="8-bit index"):
        StateSpec(x=0x1234).apply(CPU())


# ---------------------------------------------------------------------------------------- agreement with Asar

# Asar source per addressing mode, written out independently of the disassembler.
ASAR_OPERAND = {
    "imp": "",
    "acc": " A",
    "imm8": " #$12",
    "imm16": " $1234",
    "dp": ".b $12",
    "dp_x": ".b $12,X",
    "dp_y": ".b $12,Y",
    "dp_ind": " ($12)",
    "dp_ind_long": " [$12]",
    "dp_x_ind": " ($12,X)",
    "dp_ind_y": " ($12),Y",
    "dp_ind_long_y": " [$12],Y",
    "abs": ".w $1234",
    "abs_x": ".w $1234,X",
    "abs_y": ".w $1234,Y",
    "long": ".l $123456",
    "long_x": ".l $123456,X",
    "sr": " $12,S",
    "sr_ind_y": " ($12,S),Y",
    "abs_ind": " ($1234)",
    "abs_x_ind": " ($1234,X)",
    "abs_ind_long": " [$1234]",
    "block": " $12,$34",
}


def _source_line(opcode: int, wide: bool) -> list[str]:
    info = OPCODES[opcode]
    if info.mode in ("rel8", "rel16"):
        return [f"{info.mnemonic} t{opcode:02X}", f"t{opcode:02X}:"]
    if info.mode in ("imm_m", "imm_x"):
        return [f"{info.mnemonic}.w #$1234" if wide else f"{info.mnemonic}.b #$12"]
    return [info.mnemonic + ASAR_OPERAND[info.mode]]


@pytest.fixture(scope="module")
def asar() -> Asar:
    return Asar()


def test_every_opcode_agrees_with_asar(asar):
    narrow = list(range(256))
    wide = [info.opcode for info in OPCODES if info.mode in ("imm_m", "imm_x")]
    lines = [line for opcode in narrow for line in _source_line(opcode, wide=False)]
    lines += [line for opcode in wide for line in _source_line(opcode, wide=True)]
    assembled = asar.assemble("lorom\norg $008000\n" + "\n".join(lines) + "\n")
    assert assembled.ok, assembled.errors
    rom = assembled.rom

    offset = 0
    listing = []
    for opcodes, width8 in ((narrow, True), (wide, False)):
        for opcode in opcodes:
            info = OPCODES[opcode]
            assert rom[offset] == opcode, f"${offset:04X}: Asar wrote ${rom[offset]:02X} for {info}"
            text, length = disassemble(rom, offset, m8=width8, x8=width8)
            assert length == instruction_length(opcode, width8, width8) == info.length(width8, width8)
            assert re.split(r"[ .]", text)[0] == info.mnemonic
            listing.append((0x8000 + offset, text))
            offset += length
    assert rom[offset : offset + 16] == bytes(16)  # nothing Asar wrote was left unread

    # Round trip: the disassembly, fed back to Asar, gives the same bytes (branch targets become labels,
    # because Asar reads a numeric branch operand as an offset).
    round_trip = []
    for address, text in listing:
        round_trip.append(f"a{address:04X}:")
        round_trip.append(re.sub(r"^(B[A-Z]{2}|PER) \$([0-9A-F]{4})$", r"\1 a\2", text))
    round_trip.append(f"a{0x8000 + offset:04X}:")
    again = asar.assemble("lorom\norg $008000\n" + "\n".join(round_trip) + "\n")
    assert again.ok, again.errors
    assert again.rom[:offset] == rom[:offset]


def test_speed_smoke():
    """A simple loop runs at well over 100k instructions per second (typically ~2M on one core)."""
    import time

    cpu = make_cpu("A2 00 E8 D0 FD 88 D0 F8 DB", y=40)  # 40 x (256 x INX/BNE) + DEY/BNE
    start = time.perf_counter()
    result = cpu.run(100_000)
    elapsed = time.perf_counter() - start
    assert result.reason == STOP_STP
    assert result.instructions / elapsed > 100_000

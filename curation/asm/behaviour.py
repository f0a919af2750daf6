"""Executable specs for 65816 routines: run the code, check what it did.

A debugging dialogue claims a bug and a fix. A :class:`BehaviourSpec` says what "fixed" means as
something the CPU can check: scenarios, each an initial state (registers, widths, memory) and what
must hold after calling the routine - bytes in memory, register values, and properties such as "it
returns to its caller with the stack balanced", "the data bank is unchanged", "the caller gets its
register widths back". ``run_spec`` assembles the code with the real Asar (labels it calls but does
not define become stub routines), loads the image into the interpreter and runs every scenario.

For a planted bug the buggy code must *fail* the spec and the fix must *pass* it; a template whose
buggy code passes its own spec describes a mechanism the CPU does not perform.

Specs travel as JSON in a proposal's metadata (``behaviour``), so a validator can re-run them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from curation.asm.cpu import CPU, StateSpec, call
from curation.asm.memory import Memory
from curation.asm.opcodes import disassemble

ORIGIN = 0x008000
STUB_ORIGIN = 0x00C000
BANK_SIZE = 0x8000  # one LoROM bank: where the code and its stubs are assembled
IMAGE_SIZE = 0x100000  # the image the scenarios run on: 1 MiB, zeros past what was assembled
_FREE_SPACE = re.compile(r"(?im)^\s*(freecode|freedata|freespace)\b")
PROPERTIES = ("returns", "stack_balanced", "db_kept", "d_kept", "widths_kept", "x_kept", "y_kept")
_DEFINED = re.compile(r"^\s*([A-Za-z_]\w*):", re.M)
_USED_LABEL = re.compile(r"\b(JSR|JSL|JMP|JML)\s+([A-Za-z_]\w*)\b", re.I)


def _address(value: int | str) -> int:
    return int(value[1:].replace(":", ""), 16) if isinstance(value, str) and value.startswith("$") else int(value)


@dataclass(frozen=True)
class Scenario:
    """One run: the state before, and what must hold after."""

    name: str
    registers: dict[str, int] = field(default_factory=dict)  # a, x, y, s, d, db
    flags: dict[str, bool] = field(default_factory=dict)  # m8, x8, c, z, n, v, decimal, e
    memory: dict[int, bytes] = field(default_factory=dict)
    expect_memory: dict[int, bytes] = field(default_factory=dict)
    expect_registers: dict[str, int] = field(default_factory=dict)
    properties: tuple[str, ...] = ("returns",)
    io: dict[int, int] = field(default_factory=dict)  # hardware register (e.g. $4212) -> the value reads return
    expect_io: dict[int, int] = field(default_factory=dict)  # hardware register -> the last value written to it
    io_unwritten: tuple[int, ...] = ()  # hardware registers the routine must not write at all
    entry: str | None = None  # another routine of the code to call in this scenario (default: the spec's)
    # When set, the only WRAM/SRAM bytes the call may change (besides the stack page): "nothing outside its bytes".
    may_write: tuple[int, ...] | None = None
    max_instructions: int | None = None  # a budget for this scenario alone (e.g. stop where an NMI would cut in)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "registers": self.registers,
            "flags": self.flags,
            "memory": {f"${a:06X}": list(b) for a, b in self.memory.items()},
            "expect_memory": {f"${a:06X}": list(b) for a, b in self.expect_memory.items()},
            "expect_registers": self.expect_registers,
            "properties": list(self.properties),
            "io": {f"${a:04X}": v for a, v in self.io.items()},
            "expect_io": {f"${a:04X}": v for a, v in self.expect_io.items()},
            "io_unwritten": [f"${a:04X}" for a in self.io_unwritten],
            "entry": self.entry,
            "may_write": None if self.may_write is None else [f"${a:06X}" for a in self.may_write],
            "max_instructions": self.max_instructions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scenario:
        return cls(
            name=data["name"],
            registers=dict(data.get("registers", {})),
            flags=dict(data.get("flags", {})),
            memory={_address(a): bytes(b) for a, b in data.get("memory", {}).items()},
            expect_memory={_address(a): bytes(b) for a, b in data.get("expect_memory", {}).items()},
            expect_registers=dict(data.get("expect_registers", {})),
            properties=tuple(data.get("properties", ("returns",))),
            io={_address(a): int(v) for a, v in data.get("io", {}).items()},
            expect_io={_address(a): int(v) for a, v in data.get("expect_io", {}).items()},
            io_unwritten=tuple(_address(a) for a in data.get("io_unwritten", ())),
            entry=data.get("entry"),
            may_write=None if data.get("may_write") is None else tuple(_address(a) for a in data["may_write"]),
            max_instructions=data.get("max_instructions"),
        )


@dataclass(frozen=True)
class BehaviourSpec:
    """What the routine at ``entry`` must do, called the way ``call`` says (``jsl`` or ``jsr``)."""

    entry: str
    call: str = "jsr"
    scenarios: tuple[Scenario, ...] = ()
    defines: dict[str, int] = field(default_factory=dict)  # !Name values the excerpt uses
    # External routine -> "rts" | "rtl", or the stub's own code (lines), e.g. one that records its arguments.
    stubs: dict[str, str] = field(default_factory=dict)
    max_instructions: int = 20_000

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "call": self.call,
            "scenarios": [s.to_json() for s in self.scenarios],
            "defines": self.defines,
            "stubs": self.stubs,
            "max_instructions": self.max_instructions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BehaviourSpec:
        return cls(
            entry=data["entry"],
            call=data.get("call", "jsr"),
            scenarios=tuple(Scenario.from_json(s) for s in data.get("scenarios", ())),
            defines={k: int(v) for k, v in data.get("defines", {}).items()},
            stubs=dict(data.get("stubs", {})),
            max_instructions=int(data.get("max_instructions", 20_000)),
        )


@dataclass(frozen=True)
class Failure:
    """One thing that did not hold, in words a reviewer reads: the scenario, what was expected and seen,
    and where the CPU was (the instruction and the register widths there)."""

    scenario: str
    message: str

    def __str__(self) -> str:
        return f"{self.scenario}: {self.message}"


@dataclass(frozen=True)
class SpecOutcome:
    assembled: bool
    failures: tuple[Failure, ...]
    instructions: int = 0
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.assembled and not self.failures


def build_source(code: str, spec: BehaviourSpec) -> str:
    """The code at $00:8000 with the spec's defines, then a stub routine for each external call."""
    defined = {m.group(1) for m in _DEFINED.finditer(code)}
    stubs = dict(spec.stubs)
    for match in _USED_LABEL.finditer(code):
        name = match.group(2)
        if name not in defined and name not in stubs:
            stubs[name] = "rtl" if match.group(1).upper() in ("JSL", "JML") else "rts"
    lines = ["lorom", *(f"!{name} = ${value:X}" for name, value in spec.defines.items()), f"org ${ORIGIN:06X}", code]
    lines.append(f"org ${STUB_ORIGIN:06X}")
    for name, kind in stubs.items():
        lines += [f"{name}:", kind.upper() if kind.lower() in ("rts", "rtl") else kind]
    return "\n".join(lines) + "\n"


def _where(cpu: CPU) -> str:
    """The instruction the CPU stopped at, with the widths in force there."""
    address = cpu.pb << 16 | cpu.pc
    data = cpu.memory.peek(address, 4) if hasattr(cpu.memory, "peek") else b""
    text = disassemble(bytes(data), 0, cpu.m8, cpu.x8, pc=address & 0xFFFF)[0] if data else "?"
    return f"at ${address:06X} ({text}), A {'8' if cpu.m8 else '16'}-bit, X/Y {'8' if cpu.x8 else '16'}-bit"


def _check(cpu: CPU, scenario: Scenario, result: Any, memory: Memory, before: Any) -> list[str]:
    problems: list[str] = []
    if scenario.may_write is not None:
        allowed = set(scenario.may_write)
        stray = [
            c
            for c in memory.changes_since(before)
            if c.address not in allowed and not 0x7E0100 <= c.address <= 0x7E01FF
        ]
        if stray:
            problems.append(f"writes outside its own bytes: {', '.join(str(c) for c in stray[:4])}")
    if "returns" in scenario.properties and not result.returned:
        problems.append(f"does not return to its caller: {result.detail or result.reason} ({_where(cpu)})")
    if "stack_balanced" in scenario.properties and result.s_delta != 0:
        problems.append(f"leaves the stack {result.s_delta:+d} byte(s) off")
    before, after = result.before, result.after
    for prop, attribute, label in (("db_kept", "db", "data bank"), ("d_kept", "d", "direct page")):
        if prop in scenario.properties and getattr(before, attribute) != getattr(after, attribute):
            problems.append(
                f"changes the {label} from ${getattr(before, attribute):02X} to ${getattr(after, attribute):02X}"
            )
    if "widths_kept" in scenario.properties and (before.m8, before.x8) != (after.m8, after.x8):
        problems.append(
            f"returns with A {'8' if after.m8 else '16'}-bit and X/Y {'8' if after.x8 else '16'}-bit; the caller had "
            f"A {'8' if before.m8 else '16'}-bit and X/Y {'8' if before.x8 else '16'}-bit"
        )
    for prop, register in (("x_kept", "x"), ("y_kept", "y")):
        if prop in scenario.properties and getattr(before, register) != getattr(after, register):
            problems.append(
                f"changes {register.upper()} (${getattr(before, register):04X} -> ${getattr(after, register):04X})"
            )
    for address, expected in scenario.expect_memory.items():
        actual = memory.peek(address, len(expected))
        if bytes(actual) != expected:
            problems.append(
                f"${address:06X} holds {bytes(actual).hex(' ').upper()}, expected {expected.hex(' ').upper()}"
            )
    last_written: dict[int, int] = {}
    for address, value in memory.register_writes:
        last_written[address & 0xFFFF] = value
    for register, expected in scenario.expect_io.items():
        actual = last_written.get(register & 0xFFFF)
        if actual != expected:
            seen = "never written" if actual is None else f"last written ${actual:02X}"
            problems.append(f"hardware register ${register & 0xFFFF:04X} {seen}, expected ${expected:02X}")
    for register in scenario.io_unwritten:
        if register & 0xFFFF in last_written:
            problems.append(f"writes hardware register ${register & 0xFFFF:04X}, which it must leave alone")
    for register, expected in scenario.expect_registers.items():
        actual = getattr(cpu, register)
        if register == "a" and cpu.m8:
            actual &= 0xFF
        if actual != expected:
            problems.append(f"{register.upper()} is ${actual:04X}, expected ${expected:04X}")
    return problems


def run_spec(code: str, spec: BehaviourSpec, asar: Any) -> SpecOutcome:
    """Assemble ``code`` with its stubs and run every scenario of ``spec`` (see the module docstring)."""
    source = build_source(code, spec)
    # The code and its stubs sit in bank $00: Asar gets that bank alone (a third of the cost of a 1 MiB
    # image) and the machine the full image, zeros past it as before. Free-space directives search the
    # whole image, so code that uses them gets all of it.
    assembled = asar.assemble(source, None if _FREE_SPACE.search(code) else bytes(BANK_SIZE), symbols=True)
    if not assembled.ok:
        reason = "; ".join(e.message for e in assembled.errors[:2]) or "timed out"
        return SpecOutcome(False, (), 0, f"does not assemble: {reason}")
    image = assembled.rom.ljust(IMAGE_SIZE, b"\0")
    missing = [e for e in {spec.entry, *(s.entry for s in spec.scenarios if s.entry)} if e not in assembled.labels]
    if missing:
        return SpecOutcome(False, (), 0, f"no label {', '.join(sorted(missing))} in the code")
    failures: list[Failure] = []
    total = 0
    memory = Memory(image)
    cpu = CPU(memory)
    for number, scenario in enumerate(spec.scenarios):
        entry = assembled.labels[scenario.entry or spec.entry]
        if number:  # each scenario starts from the same fresh machine
            memory.restore(image)
            cpu.restart()
        for address, data in scenario.memory.items():
            memory.load(address, data)
        memory.register_values.update({address & 0xFFFF: value for address, value in scenario.io.items()})
        state = StateSpec(
            **{k: v for k, v in scenario.registers.items() if k in ("a", "x", "y", "s", "d", "db")},
            **{k: v for k, v in scenario.flags.items() if k in ("m8", "x8", "c", "z", "n", "v", "decimal", "e")},
        )
        state.apply(cpu)
        before = memory.snapshot()
        budget = scenario.max_instructions or spec.max_instructions
        result = call(cpu, entry, long=spec.call == "jsl", max_instructions=budget)
        total += result.instructions
        failures += [Failure(scenario.name, problem) for problem in _check(cpu, scenario, result, memory, before)]
    return SpecOutcome(True, tuple(failures), total)


__all__ = ["PROPERTIES", "BehaviourSpec", "Failure", "Scenario", "SpecOutcome", "build_source", "run_spec"]

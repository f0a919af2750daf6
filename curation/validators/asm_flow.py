"""``asm_flow``: register widths and the stack, followed along every path of the answer's code.

The bugs that cost ALttP hackers the most hours are invisible to an assembler: an immediate assembled
for an 8-bit accumulator that runs with a 16-bit one (the CPU then swallows the next opcode), a push
with no pull on one branch, a routine entered with ``JSL`` that returns with ``RTS``. This validator
walks the code's control flow - branches fork, ``BRA``/``JMP`` jump, ``RTS``/``RTL`` end a path, a
``JSR``/``JSL`` to a routine defined in the same code continues with the widths that routine returns
with - and tracks on each path:

* the M and X widths: ``REP``/``SEP``, ``PHP``/``PLP``, ``XCE``; an immediate's size (``#$12`` is
  8-bit, ``#$1234`` 16-bit, or an explicit ``.b``/``.w``) must match the width in force;
* the stack depth: pushes and pulls (sized by the widths) must balance on every return;
* ``JSL``/``RTL`` and ``JSR``/``RTS`` pairing for routines the code calls itself.

Entry widths are what the question states ("8-bit A", "16-bit index"), else unknown until the code
sets them (``REP``/``SEP``) or its first immediate implies them. Nothing is reported where the state is
unknown, so an excerpt is judged only on what it shows.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, replace

from curation.asm.mnemonics import MNEMONICS
from curation.validators.base import Validator, register
from curation.validators.text import code_blocks
from schemas.sample import Kind, Role, SampleRevision
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult

# A label at the start of a line: ``Name:``, ``.local`` (colon optional), or an anonymous ``+``/``-`` run.
_HEAD_LABEL = re.compile(r"^([A-Za-z_][\w]*:|\.[A-Za-z_][\w]*:?|[+-]+)(?=\s|$)")
_LINE = re.compile(r"^([A-Za-z]{3})(?:\.([bwlBWL]))?\b\s*(.*)$")
_IMMEDIATE = re.compile(r"^#\s*\$([0-9A-Fa-f]+)$|^#\s*(\d+)$")
_M_IMMEDIATE = {"LDA", "ADC", "AND", "BIT", "CMP", "EOR", "ORA", "SBC"}
_X_IMMEDIATE = {"LDX", "LDY", "CPX", "CPY"}
_BRANCHES = {"BCC", "BCS", "BEQ", "BMI", "BNE", "BPL", "BVC", "BVS"}
_PUSH = {"PHA": "m", "PHX": "x", "PHY": "x", "PHP": 1, "PHB": 1, "PHK": 1, "PHD": 2, "PEA": 2, "PEI": 2, "PER": 2}
_PULL = {"PLA": "m", "PLX": "x", "PLY": "x", "PLP": 1, "PLB": 1, "PLD": 2}
_MAX_STATES = 4000

# Only an explicit statement of the entry state counts ("called with an 8-bit accumulator", "A is 16-bit on
# entry"): a question that mentions a width while describing its symptom says nothing about the entry.
_ENTRY = r"(?:on entry|at entry|entered with|called with|runs with|starts with|caller (?:has|uses|keeps))"
_INDEX = r"(?:X|Y|index|indexes|indices|index registers)"
_WIDTH_WORDS = (
    (re.compile(rf"(?i){_ENTRY}[^.\n]{{0,30}}\b8[- ]bit\s+(?:A|accumulator)\b"), "m8", True),
    (re.compile(rf"(?i){_ENTRY}[^.\n]{{0,30}}\b16[- ]bit\s+(?:A|accumulator)\b"), "m8", False),
    (
        re.compile(rf"(?i){_ENTRY}[^.\n]{{0,30}}\b8[- ]bit\s+(?:X|Y|index|indexes|indices|index registers)\b"),
        "x8",
        True,
    ),
    (
        re.compile(rf"(?i){_ENTRY}[^.\n]{{0,30}}\b16[- ]bit\s+(?:X|Y|index|indexes|indices|index registers)\b"),
        "x8",
        False,
    ),
    (re.compile(r"(?i)\b(?:A|accumulator) is 8[- ]bit (?:on|at) entry"), "m8", True),
    (re.compile(r"(?i)\b(?:A|accumulator) is 16[- ]bit (?:on|at) entry"), "m8", False),
)


@dataclass(frozen=True)
class Op:
    line: int
    mnemonic: str
    size: str  # b, w, l or ""
    operand: str
    text: str


@dataclass(frozen=True)
class State:
    m8: bool | None
    x8: bool | None
    depth: int | None  # bytes pushed since the routine's entry; None once unknown
    saved: tuple[tuple[bool | None, bool | None], ...] = ()  # widths pushed by PHP

    def key(self) -> tuple:
        return (self.m8, self.x8, self.depth, self.saved[-4:])


@dataclass(frozen=True)
class Finding:
    code: str
    line: int
    message: str


def parse(code: str) -> tuple[list[Op], dict[str, int]]:
    """Instructions (with their 1-based lines) and label -> index of the instruction it names.
    ``.local`` labels are stored under their routine (``Routine.local``); ``+``/``-`` as written."""
    ops: list[Op] = []
    labels: list[tuple[str, int]] = []
    current = ""
    for number, raw in enumerate(code.split("\n"), 1):
        for piece in raw.split(";", 1)[0].split(" : "):
            text = piece.strip()
            head = _HEAD_LABEL.match(text)
            if head:
                name = head.group(1).rstrip(":")
                if name.startswith("."):
                    name = f"{current}{name}"
                elif name[0] not in "+-":
                    current = name
                labels.append((name, len(ops)))
                text = text[head.end() :].strip()
            match = _LINE.match(text)
            if not text or not match or match.group(1).upper() not in MNEMONICS:
                continue
            ops.append(Op(number, match.group(1).upper(), (match.group(2) or "").lower(), match.group(3).strip(), text))
    table: dict[str, int] = {}
    for name, index in labels:
        if name[0] in "+-":
            table.setdefault(f"{name}@{index}", index)
        table.setdefault(name, index)
    return ops, table


def _immediate_width(op: Op) -> bool | None:
    """True for an 8-bit immediate, False for 16-bit, None when the text does not say."""
    if op.size == "b":
        return True
    if op.size == "w":
        return False
    match = _IMMEDIATE.match(op.operand)
    if not match:
        return None
    if match.group(1) is not None:
        return len(match.group(1)) <= 2
    return int(match.group(2)) <= 0xFF


def _bits(value: str) -> int | None:
    match = _IMMEDIATE.match(value)
    if not match:
        return None
    return int(match.group(1), 16) if match.group(1) is not None else int(match.group(2))


def _target(op: Op, index: int, labels: dict[str, int], routine: str) -> int | None:
    name = op.operand.split(",")[0].strip()
    if name.startswith(".") and f"{routine}{name}" in labels:
        return labels[f"{routine}{name}"]
    if name and set(name) <= {"+"}:  # the next "+" run of this length after the branch
        found = [i for key, i in labels.items() if key.startswith(f"{name}@") and i > index]
        return min(found) if found else None
    if name and set(name) <= {"-"}:  # the last "-" run of this length at or before it
        found = [i for key, i in labels.items() if key.startswith(f"{name}@") and i <= index]
        return max(found) if found else None
    return labels.get(name)


def _routine_of(index: int, labels: dict[str, int]) -> str:
    owners = [(i, n) for n, i in labels.items() if "." not in n and n[0] not in "+-" and i <= index]
    return max(owners)[1] if owners else ""


def _push_size(kind: int | str, state: State) -> int | None:
    if isinstance(kind, int):
        return kind
    width = state.m8 if kind == "m" else state.x8
    return None if width is None else (1 if width else 2)


def analyse(code: str, entry: State) -> tuple[list[Finding], dict[str, State]]:
    """Walk every path from every routine entry. Returns findings and each routine's exit state."""
    ops, labels = parse(code)
    findings: dict[tuple[str, int], Finding] = {}
    exits: dict[str, State] = {}
    callers: dict[str, str] = {}  # routine -> JSL | JSR, as the code itself calls it
    for op in ops:
        if op.mnemonic in ("JSL", "JSR") and op.operand in labels:
            callers.setdefault(op.operand, op.mnemonic)
    routines = [n for n in labels if "." not in n and n[0] not in "+-"]
    starts = [(0, _routine_of(0, labels) or "")] + [(labels[n], n) for n in routines if labels[n] != 0]

    def note(code_: str, op: Op, message: str) -> None:
        findings.setdefault((code_, op.line), Finding(code_, op.line, message))

    earlier: dict[str, State] = {}
    for _ in range(2):  # the second pass sees the exit widths of routines called before they were walked
        earlier, exits = {**earlier, **exits}, {}
        for start, routine in starts:
            # What the question states holds where the code starts; another routine of the code starts unknown.
            first = entry if start == 0 else State(None, None, 0)
            queue: deque[tuple[int, State]] = deque([(start, replace(first, depth=0))])
            seen: set[tuple[int, tuple]] = set()
            while queue and len(seen) < _MAX_STATES:
                index, state = queue.popleft()
                if index >= len(ops) or (index, state.key()) in seen:
                    continue
                seen.add((index, state.key()))
                op = ops[index]
                name = op.mnemonic
                if name in _M_IMMEDIATE | _X_IMMEDIATE and op.operand.startswith("#"):
                    implied = _immediate_width(op)
                    width = state.m8 if name in _M_IMMEDIATE else state.x8
                    register = "A" if name in _M_IMMEDIATE else "X/Y"
                    if implied is not None and width is not None and implied != width:
                        note(
                            "immediate_width_mismatch",
                            op,
                            f"`{op.text}` is assembled with a {'1' if implied else '2'}-byte operand, but "
                            f"{register} is {'8' if width else '16'}-bit here, so the CPU reads "
                            f"{'2' if implied else '1'} operand byte(s) and decodes everything after it out of step",
                        )
                    if implied is not None and width is None:
                        state = replace(state, **({"m8": implied} if name in _M_IMMEDIATE else {"x8": implied}))
                if name in ("REP", "SEP"):
                    bits = _bits(op.operand)
                    if bits is not None:
                        value = name == "SEP"
                        state = replace(
                            state,
                            m8=value if bits & 0x20 else state.m8,
                            x8=value if bits & 0x10 else state.x8,
                        )
                elif name == "XCE":
                    state = replace(state, m8=None, x8=None)
                elif name in _PUSH:
                    size = _push_size(_PUSH[name], state)
                    saved = (*state.saved, (state.m8, state.x8)) if name == "PHP" else state.saved
                    depth = None if state.depth is None or size is None else state.depth + size
                    state = replace(state, depth=depth, saved=saved)
                elif name in _PULL:
                    size = _push_size(_PULL[name], state)
                    if name == "PLP" and state.saved:
                        m8, x8 = state.saved[-1]
                        state = replace(state, m8=m8, x8=x8, saved=state.saved[:-1])
                    elif name == "PLP":
                        state = replace(state, m8=None, x8=None)
                    depth = None if state.depth is None or size is None else state.depth - size
                    if depth is not None and depth < 0:
                        note(
                            "stack_underflow",
                            op,
                            f"`{op.text}` pulls {-depth} byte(s) more than the routine pushed on this path: it takes "
                            "the caller's return address off the stack",
                        )
                        depth = None
                    state = replace(state, depth=depth)
                elif name in ("RTS", "RTL"):
                    if state.depth not in (0, None):
                        note(
                            "stack_imbalance",
                            op,
                            f"`{op.text}` returns with {state.depth} byte(s) still pushed on this path: the CPU "
                            "pops them as the return address",
                        )
                    expected = callers.get(routine)
                    if expected and (expected, name) in (("JSL", "RTS"), ("JSR", "RTL")):
                        note(
                            "return_mismatch",
                            op,
                            f"{routine} is called with {expected} but returns with {name}: "
                            + ("RTS pops 2 of the 3 bytes JSL pushed" if name == "RTS" else "RTL pops 3, JSR pushed 2"),
                        )
                    previous = exits.get(routine)
                    exits[routine] = state if previous is None or previous.key() == state.key() else replace(
                        state, m8=state.m8 if previous.m8 == state.m8 else None,
                        x8=state.x8 if previous.x8 == state.x8 else None,
                    )  # fmt: skip
                    continue
                elif name in ("RTI", "STP", "BRK"):
                    continue
                known = exits.get(op.operand) or earlier.get(op.operand)
                if name in ("JSR", "JSL") and known is not None:
                    after = known
                    state = replace(state, m8=after.m8, x8=after.x8)
                if name in _BRANCHES or name in ("BRA", "BRL", "JMP", "JML"):
                    target = _target(op, index, labels, routine) if not op.operand.startswith("(") else None
                    if target is not None:
                        queue.append((target, state))
                    if name in ("BRA", "BRL", "JMP", "JML"):
                        continue
                queue.append((index + 1, state))
    return sorted(findings.values(), key=lambda f: f.line), exits


def entry_state(question: str) -> State:
    """The widths the question states the code starts with (unknown otherwise)."""
    widths: dict[str, bool] = {}
    for pattern, width, value in _WIDTH_WORDS:
        if pattern.search(question):
            widths.setdefault(width, value)
    return State(widths.get("m8"), widths.get("x8"), 0)


class AsmFlow(Validator):
    name = "asm_flow"
    version = "1"
    description = "M/X widths against immediates, stack balance and JSL/RTL pairing along every path of the answer"
    required_for = (Kind.debug_dialogue, Kind.asm_optimize, Kind.asm_generate)
    advisory_for = (Kind.asm_explain,)
    rank = 30

    def validate(self, revision: SampleRevision) -> ValidationResult:
        question = "\n".join(m.content for m in revision.messages if m.role == Role.user)
        turn = len(revision.messages) - 1
        blocks = [b for b in code_blocks(revision.answer) if b.is_asm]
        if not blocks:
            return self.result([ValidationIssue(code="no_code", severity="info", message="no 65816 code")], 1.0)
        entry = entry_state(question)
        issues: list[ValidationIssue] = []
        for number, block in enumerate(blocks):
            findings, _ = analyse(block.code, entry)
            issues += [
                ValidationIssue(
                    code=f.code, message=f.message, location=IssueLocation(turn=turn, block=number, line=f.line)
                )
                for f in findings
            ]
        return self.result(issues, 1.0 if not issues else 0.3, {"blocks": len(blocks)})


register(AsmFlow())

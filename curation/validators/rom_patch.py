"""``rom_patch``: a patch's hooks land where an ALttP hacker would accept them, on the real game's map.

The patch is assembled with Asar and its written bytes read back (:mod:`curation.validators.patches`),
then each range it writes inside the vanilla ROM is checked against the ROM map:

* a hook starts on an instruction boundary inside code, and the bytes it overwrites end on one (a
  ``JSL`` dropped onto the third byte of another ``JSL`` leaves half an instruction to run);
* nothing is written into data (tables, text, padding), nor into a hook the hack already placed;
* the instructions a ``JSL``/``JML`` hook displaces run again in the hook's routine - or the answer
  says why they need not - and none of them is a branch, which means something else once moved;
* code placed outside the vanilla ROM goes through ``freecode``/``freedata`` or into space the hack
  file declares free, never a hard-coded ``org`` another patch may also pick.

Every issue names the address, the vanilla routine and the instruction there, so a reviewer sees the
reason in Argilla. Without a ROM map the validator says so (a warning) and judges nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from curation.rommap import Entry, RomMap
from curation.validators.asar import Asar
from curation.validators.base import ContextValidator, ValidationContext, register
from curation.validators.patches import (
    PatchWrites,
    Run,
    assemble_patch,
    patch_blocks,
    patch_source,
    rom_offset,
    shared_asar,
)
from schemas.sample import Kind, SampleRevision
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult

NO_MAP = "no ROM map: run `triforge rom-map build --disassembly DIR` to check hooks against the game"
_CALLS = {0x22: "JSL", 0x5C: "JML", 0x20: "JSR", 0x4C: "JMP"}
_BRANCHES = {"BRA", "BRL", "BCC", "BCS", "BEQ", "BMI", "BNE", "BPL", "BVC", "BVS", "PER"}
_EXPLAINED = re.compile(r"(?i)\b(not needed|need not|no need|deliberately|on purpose|replaces?|drops?|skips?)\b")
_HOOK_REACH = 0x400  # how far into the hook routine the displaced instructions are looked for


def at(address: int) -> str:
    return f"${address >> 16:02X}:{address & 0xFFFF:04X}"


class RomPatch(ContextValidator):
    name = "rom_patch"
    version = "1"
    description = "hooks start and end on instruction boundaries in code, re-run what they displace, use free space"
    required_for = (Kind.quest_implementation,)
    advisory_for = (Kind.debug_dialogue, Kind.asm_optimize, Kind.asm_generate)
    rank = 40

    def __init__(self, asar: Asar | None = None) -> None:
        """``asar``: the assembler for the answer's patch (the service passes its short-timeout one for
        untrusted code); the default is the shared one."""
        self._asar = asar

    def validate_many_in(
        self, revisions: Sequence[SampleRevision], context: ValidationContext
    ) -> list[ValidationResult]:
        """Each patch costs one sandboxed process (two Asar runs): two at a time keep both cores busy. The
        displaced instructions of every hook in the batch are then assembled together, in one run."""
        rom_map = context.rom_map
        if rom_map is None or len(revisions) < 4:
            return [self.validate_in(r, context) for r in revisions]
        with ThreadPoolExecutor(max_workers=2) as pool:
            patches = list(pool.map(lambda r: self._assemble_blocks(r, rom_map), revisions))
        wanted: set[tuple[Entry, ...]] = set()
        for revision, assembled in zip(revisions, patches, strict=True):
            for patch in assembled:
                if patch.ok:
                    self._check(patch, rom_map, revision.answer, collect=wanted)
        _assemble_displaced_together(wanted, rom_map)
        return [self._judge(r, assembled, rom_map) for r, assembled in zip(revisions, patches, strict=True)]

    def validate_in(self, revision: SampleRevision, context: ValidationContext) -> ValidationResult:
        if context.rom_map is None:
            if not patch_blocks(revision):
                return self._judge(revision, [], None)
            return self.result([ValidationIssue(code="no_rom_map", severity="warning", message=NO_MAP)], 0.8)
        return self._judge(revision, self._assemble_blocks(revision, context.rom_map), context.rom_map)

    def _assemble_blocks(self, revision: SampleRevision, rom_map: RomMap) -> list[PatchWrites]:
        return [assemble_patch(block.code, rom_map, self._asar) for block in patch_blocks(revision)]

    def _judge(self, revision: SampleRevision, patches: list[PatchWrites], rom_map: RomMap | None) -> ValidationResult:
        turn = len(revision.messages) - 1
        if not patches or rom_map is None:
            return self.result([ValidationIssue(code="no_patch", severity="info", message="no ROM patch")], 1.0)
        issues: list[ValidationIssue] = []
        checked = 0
        for block_no, patch in enumerate(patches):
            where = IssueLocation(turn=turn, block=block_no)
            if not patch.ok:
                issues.append(
                    ValidationIssue(
                        code="patch_not_assembled",
                        severity="warning",
                        message="the patch does not assemble, so what it writes is unknown (see asm_assembles)",
                        location=where,
                    )
                )
                continue
            found = self._check(patch, rom_map, revision.answer)
            checked += len(patch.vanilla_runs) + len(patch.expansion_runs)
            issues += [issue.model_copy(update={"location": where}) for issue in found]
        errors = sum(i.severity == "error" for i in issues)
        return self.result(issues, 1.0 - errors / max(1, checked), {"writes_checked": checked})

    def _check(
        self, patch: PatchWrites, rom_map: RomMap, answer: str, collect: set[tuple[Entry, ...]] | None = None
    ) -> list[ValidationIssue]:
        """The issues of one assembled patch. With ``collect``, only gather the displaced instructions whose
        original bytes the hooks' checks need (the batch assembles them all at once, then checks)."""
        issues: list[ValidationIssue] = []
        hack = rom_map.hack
        for run in patch.vanilla_runs:
            if hack.free(run.start) and hack.free(run.end - 1):
                continue
            hooked = hack.hook_at(run.start) or hack.hook_at(run.end - 1)
            if hooked:
                issues.append(
                    _error(
                        "overwrites_hack_hook",
                        run,
                        f"overwrites the hack's hook at {at(hooked.address)} ({hooked.note})",
                    )
                )
            entries = rom_map.entries_between(run.start, run.end)
            if not entries:
                issues.append(
                    ValidationIssue(
                        code="unmapped_write",
                        severity="warning",
                        message=f"writes {_span(run)}, which the disassembly does not cover: check it by hand",
                    )
                )
                continue
            first, last = entries[0], entries[-1]
            if first.address != run.start:
                issues.append(
                    _error(
                        "hook_splits_instruction",
                        run,
                        f"starts at {at(run.start)}, byte {run.start - first.address + 1} of {first.describe()}: a "
                        f"hook must start on an instruction boundary (here {at(first.address)} or {at(first.end)})",
                    )
                )
            data = [e for e in entries if not e.code]
            if data:
                issues.append(_error("hook_in_data", run, f"writes {_span(run)} into data: {data[0].describe()}"))
                continue
            inside = rom_map.label_inside(run.start, run.end)
            if inside:
                issues.append(
                    _error(
                        "hook_over_branch_target",
                        run,
                        f"overwrites {_span(run)}, where vanilla code jumps to `{inside}` "
                        f"({at(rom_map.labels[inside])}): that jump now lands inside the hook's bytes",
                    )
                )
            returns = [e for e in entries if e.text.split()[0] in ("RTS", "RTL", "RTI") and e.address >= run.start]
            if returns and first.address == run.start:
                issues.append(
                    _error(
                        "hook_overwrites_return",
                        run,
                        f"overwrites {returns[0].describe()}, the end of the routine: whatever follows it runs "
                        "unless the hook returns for it",
                    )
                )
            if last.end != run.end:
                issues.append(
                    _error(
                        "hook_splits_instruction",
                        run,
                        f"ends at {at(run.end)}, inside {last.describe()}: its remaining {last.end - run.end} byte(s) "
                        f"still run as code after the hook returns - pad with NOP up to {at(last.end)}",
                    )
                )
            issues += self._displaced(patch, rom_map, run, entries, answer, collect)
        for left, right in zip(patch.orgs, patch.orgs[1:], strict=False):
            if left != right and abs(left - right) < 4 and rom_map.in_vanilla_rom(left):
                issues.append(
                    ValidationIssue(code="overlapping_writes", message=f"two orgs, {at(left)} and {at(right)}, overlap")
                )
        for run in patch.expansion_runs:
            if patch.uses_free_space_commands or (hack.free(run.start) and hack.free(run.end - 1)):
                continue
            issues.append(
                ValidationIssue(
                    code="hard_coded_free_space",
                    message=f"writes {_span(run)} with a plain org outside the vanilla ROM: use freecode/freedata "
                    "(Asar finds room and no two patches collide) or declare the range in the hack file",
                )
            )
        return issues

    def _displaced(
        self,
        patch: PatchWrites,
        rom_map: RomMap,
        run: Run,
        entries: list[Entry],
        answer: str,
        collect: set[tuple[Entry, ...]] | None = None,
    ) -> list[ValidationIssue]:
        """A JSL/JML/JSR/JMP written over vanilla code must re-run the instructions it displaces."""
        written = patch.read(run.start, run.size)
        kind = _CALLS.get(written[0]) if written else None
        if kind is None or len(written) < (4 if kind in ("JSL", "JML") else 3):
            return []  # an in-place edit (a constant, a NOP-out), not a hook: boundaries are what matter
        if kind in ("JSL", "JML"):
            target = written[1] | written[2] << 8 | written[3] << 16
        else:
            target = (run.start & 0xFF0000) | written[1] | written[2] << 8
        displaced = [e for e in entries if e.code]
        issues: list[ValidationIssue] = []
        for entry in displaced:
            mnemonic = entry.text.split(".")[0].split()[0]
            if mnemonic in _BRANCHES:
                issues.append(
                    _error(
                        "displaced_branch",
                        run,
                        f"the hook at {at(run.start)} displaces {entry.describe()}, a relative branch: moved into the "
                        "hook routine it jumps somewhere else - hook another instruction",
                    )
                )
                return issues
        if rom_map.in_vanilla_rom(target) and not rom_map.hack.free(target):
            return issues  # a hook into vanilla code: the displaced code is not the patch's to re-run
        if collect is not None:
            collect.add(tuple(displaced))
            return issues
        expected = _assemble_displaced(displaced, rom_map)
        if expected is None:
            return issues
        body = patch.read(target, _HOOK_REACH)
        if expected in body:
            return issues
        names = "; ".join(e.text for e in displaced)
        explained = _EXPLAINED.search(answer) and all(e.text.split()[0] in answer for e in displaced)
        issues.append(
            ValidationIssue(
                code="displaced_not_rerun",
                severity="warning" if explained else "error",
                message=f"the {kind} at {at(run.start)} overwrites `{names}` ({displaced[0].routine}), and the hook "
                f"routine at {at(target)} never runs it: vanilla loses that work every time the hook fires"
                + (
                    " (the answer says why)"
                    if explained
                    else " - run it first in the hook, or say why it is not needed"
                ),
            )
        )
        return issues


def _assemble_displaced(displaced: list[Entry], rom_map: RomMap) -> bytes | None:
    """The bytes of the displaced instructions as the game has them, assembled from the disassembly's text."""
    if not displaced:
        return b""
    key = _displaced_key(displaced, rom_map)
    if key not in _DISPLACED:
        _DISPLACED[key] = _assemble_original(displaced, rom_map)
    return _DISPLACED[key]


_DISPLACED: dict[tuple[str, int, tuple[str, ...]], bytes | None] = {}  # hook sites recur: assemble each once
_SLOT = 0x40  # bytes per displaced set when many are assembled together (a hook displaces a few instructions)


def _displaced_key(displaced: Sequence[Entry], rom_map: RomMap) -> tuple[str, int, tuple[str, ...]]:
    return rom_map.fingerprint, displaced[0].address, tuple(e.text for e in displaced)


def _displaced_source(displaced: Sequence[Entry], at: int) -> list[str]:
    """Lines that assemble ``displaced`` as if at their own address (``base``) but place the bytes at ``at``."""
    return [f"org ${at:06X}", f"base ${displaced[0].address:06X}", *(e.text for e in displaced), "base off"]


def _assemble_displaced_together(wanted: set[tuple[Entry, ...]], rom_map: RomMap) -> None:
    """Every set of displaced instructions not yet known, in one Asar run: each in its own slot of a
    scratch image. A run that fails (one text Asar cannot take) leaves them to be assembled one by one."""
    todo = sorted(
        (d for d in wanted if d and _displaced_key(d, rom_map) not in _DISPLACED),
        key=lambda d: d[0].address,
    )
    if len(todo) < 2:
        return
    slots = [(0x008000 + (i * _SLOT) % 0x8000) | (i * _SLOT // 0x8000) << 16 for i in range(len(todo))]
    lines = [line for d, at in zip(todo, slots, strict=True) for line in _displaced_source(d, at)]
    source, _, _ = patch_source("\n".join(lines), rom_map)
    banks = len(todo) * _SLOT // 0x8000 + 1
    assembled = shared_asar().assemble(source, bytes(banks * _ONE_BANK))
    if not assembled.ok:
        return
    for displaced, at in zip(todo, slots, strict=True):
        offset = rom_offset(at)
        size = displaced[-1].end - displaced[0].address
        if size <= _SLOT:
            _DISPLACED[_displaced_key(displaced, rom_map)] = assembled.rom[offset : offset + size]


def _assemble_original(displaced: list[Entry], rom_map: RomMap) -> bytes | None:
    """Assembled as if at their address (``base``) but placed at the start of a one-bank image: the bytes
    are the same, and Asar reads and writes 32 KiB instead of the whole ROM."""
    start, end = displaced[0].address, displaced[-1].end
    source, _, _ = patch_source("\n".join(_displaced_source(displaced, 0x008000)), rom_map)
    assembled = shared_asar().assemble(source, bytes(_ONE_BANK))
    if not assembled.ok:
        return None
    return assembled.rom[: end - start]


_ONE_BANK = 0x8000


def _span(run: Run) -> str:
    return at(run.start) if run.size == 1 else f"{at(run.start)}-{at(run.end - 1)}"


def _error(code: str, run: Run, message: str) -> ValidationIssue:
    return ValidationIssue(code=code, severity="error", message=message)


register(RomPatch())

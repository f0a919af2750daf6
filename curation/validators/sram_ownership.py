"""``sram_ownership``: a quest's flags live in save bytes nobody else uses, and its conditions can change.

A quest keeps its state in the save file (the WRAM copy at $7EF000-$7EF4FF, written to SRAM on save).
The byte it tests and sets - its flag or progress byte - must be one that vanilla does not use (the
player's name at $7EF3D9-$7EF3E4, the death counters, the $55AA slot marker that boot code checks
before erasing a slot, items, progress...) and that the hack file does not give to something else.
And every condition the routine tests must be written somewhere: by the patch itself, or by vanilla
(then it is vanilla state, which the answer should say it reads). A byte nothing ever writes makes a
quest that can never pay out - or always does.

What counts as the quest's flag: a save byte the patch both tests (a load, ``AND``/``BIT``/``CMP``
followed by a conditional branch) and writes. Reward writes (items, rupees) are ``alttp_conventions``'s
business, not this validator's.
"""

from __future__ import annotations

from curation.rommap import RomMap, save_offset
from curation.rommap.usdasm import WRITES
from curation.validators.base import ContextValidator, ValidationContext, register
from curation.validators.patches import Instruction, parse_instructions
from curation.validators.rom_patch import NO_MAP, at
from curation.validators.text import code_blocks
from schemas.sample import Kind, SampleRevision
from schemas.validation import IssueLocation, ValidationIssue, ValidationResult

_TESTS = {"LDA", "LDX", "LDY", "AND", "BIT", "CMP", "CPX", "CPY", "ORA", "EOR"}
_CONDITIONAL = {"BEQ", "BNE", "BCC", "BCS", "BMI", "BPL", "BVC", "BVS"}
_TEST_REACH = 4  # instructions between the read and the branch that decides on it


def tested_and_written(instructions: list[Instruction]) -> tuple[dict[int, Instruction], dict[int, Instruction]]:
    """(address -> first instruction testing it, address -> first instruction writing it)."""
    tested: dict[int, Instruction] = {}
    written: dict[int, Instruction] = {}
    for i, instruction in enumerate(instructions):
        address = instruction.address
        if address is None:
            continue
        if instruction.mnemonic in WRITES:
            written.setdefault(address, instruction)
        if instruction.mnemonic in _TESTS | {"TSB", "TRB"}:
            following = instructions[i + 1 : i + 1 + _TEST_REACH]
            if any(f.mnemonic in _CONDITIONAL for f in following):
                tested.setdefault(address, instruction)
    return tested, written


class SramOwnership(ContextValidator):
    name = "sram_ownership"
    version = "1"
    description = "quest flags in save bytes vanilla and the hack leave free; every tested condition is written"
    required_for = (Kind.quest_implementation,)
    rank = 50

    def validate_in(self, revision: SampleRevision, context: ValidationContext) -> ValidationResult:
        blocks = [b for b in code_blocks(revision.answer) if b.is_asm]
        turn = len(revision.messages) - 1
        instructions = [i for b in blocks for i in parse_instructions(b.code)]
        tested, written = tested_and_written(instructions)
        if not tested and not written:
            return self.result([ValidationIssue(code="no_state", severity="info", message="no saved state")], 1.0)
        if context.rom_map is None:
            return self.result([ValidationIssue(code="no_rom_map", severity="warning", message=NO_MAP)], 0.8)
        rom_map = context.rom_map
        issues: list[ValidationIssue] = []
        where = IssueLocation(turn=turn)
        flags = sorted(set(tested) & set(written))
        for address in flags:
            issues += self._flag(address, tested[address], rom_map, revision.answer)
        for address in sorted(set(tested) - set(written)):
            issues += self._condition(address, tested[address], rom_map)
        checks = max(1, len(set(tested) | set(written)))
        errors = sum(i.severity == "error" for i in issues)
        located = [i.model_copy(update={"location": where}) for i in issues]
        return self.result(located, 1.0 - errors / checks, {"flags": [f"${a:06X}" for a in flags]})

    def _flag(self, address: int, test: Instruction, rom_map: RomMap, answer: str) -> list[ValidationIssue]:
        if save_offset(address) is None:
            if 0x7E0000 <= address <= 0x7FFFFF:
                return [
                    ValidationIssue(
                        code="flag_not_saved",
                        severity="warning",
                        message=f"the quest keeps its state at {at(address)}, outside the save file "
                        "($7EF000-$7EF4FF): it is lost when the game is reloaded",
                    )
                ]
            return []
        use = rom_map.vanilla_save_use(address)
        if use is not None:
            return [
                ValidationIssue(
                    code="flag_in_vanilla_byte",
                    message=f"the quest's flag {at(address)} (`{test.text}`) is a byte vanilla uses - {use}. "
                    f"Take one vanilla leaves free (e.g. {_free_hint(rom_map)}) or one your hack file assigns",
                )
            ]
        claim = rom_map.hack.sram_claim(address)
        if claim is not None and claim.name not in answer:
            return [
                ValidationIssue(
                    code="flag_in_claimed_byte",
                    message=f"{at(address)} belongs to {claim.name} in {rom_map.hack.name or 'the hack file'} "
                    f"({claim.use}); the answer does not say it extends that use",
                )
            ]
        return []

    def _condition(self, address: int, test: Instruction, rom_map: RomMap) -> list[ValidationIssue]:
        writers = rom_map.writers_of(address)
        use = rom_map.vanilla_save_use(address)
        if writers or use:
            who = writers[0].describe() if writers else use
            return [
                ValidationIssue(
                    code="tests_vanilla_state",
                    severity="warning",
                    message=f"`{test.text}` tests {at(address)}, which the patch never writes: vanilla state ({who}) - "
                    "make sure that byte means what the quest needs",
                )
            ]
        if save_offset(address) is None and not 0x7E0000 <= address <= 0x7FFFFF:
            return []
        return [
            ValidationIssue(
                code="condition_never_written",
                message=f"`{test.text}` tests {at(address)}, but neither the patch nor vanilla ever writes it: the "
                "condition never changes, so the quest can never pay out (or always does) - write it in the step "
                "that should advance the quest",
            )
        ]


def _free_hint(rom_map: RomMap) -> str:
    free = rom_map.free_save_bytes()
    return f"{at(free[0])}" if free else "a byte your hack file declares"


register(SramOwnership())

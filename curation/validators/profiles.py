"""Which validators run for each kind of sample, and which of them must pass.

A sample's validation passes when every *required* validator of its kind's profile passed;
advisory validators still run and their issues are shown, but do not fail the sample.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.sample import Kind


@dataclass(frozen=True)
class Profile:
    name: str
    required: tuple[str, ...]
    advisory: tuple[str, ...] = ()

    @property
    def validators(self) -> tuple[str, ...]:
        return self.required + self.advisory


PROFILES: dict[Kind, Profile] = {
    Kind.debug_dialogue: Profile(
        "debug_dialogue",
        ("diagnosis_first", "asm_assembles", "asm_flow", "asm_behaviour", "terminology", "anti_patterns", "length"),
        ("rom_patch", "alttp_conventions"),
    ),
    # The game-aware checks decide a quest pair: hooks, save bytes and the vanilla routines it must use.
    Kind.quest_implementation: Profile(
        "quest_implementation",
        (
            "quest_structure",
            "asm_assembles",
            "rom_patch",
            "sram_ownership",
            "alttp_conventions",
            "asm_behaviour",
            "anti_patterns",
            "length",
        ),
    ),
    Kind.asm_optimize: Profile(
        "asm_optimize", ("asm_assembles", "asm_flow", "anti_patterns", "length"), ("rom_patch",)
    ),
    Kind.asm_generate: Profile(
        "asm_generate", ("asm_assembles", "asm_flow", "anti_patterns", "length"), ("rom_patch", "alttp_conventions")
    ),
    Kind.asm_explain: Profile("asm_explain", ("anti_patterns", "length"), ("asm_assembles", "asm_flow")),
    Kind.other: Profile("other", ("anti_patterns",), ("length",)),
}


def profile_for(kind: Kind | str) -> Profile:
    return PROFILES[Kind(kind)]

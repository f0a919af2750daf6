"""The category taxonomy: the one list of bug categories and quest types every part reads.

The terminology validator keys its term groups by these names, the bug-injection generator plants
one bug of each, teachers are asked for them, and each Argilla dataset offers exactly these labels
(Argilla cannot add a label to a published question, so the list must be whole up front).
"""

from __future__ import annotations

# 65816 bug categories: the brief's named five, then farore_benchmark.jsonl's, then the Oracle hack's.
BUG_CATEGORIES: tuple[str, ...] = (
    "mode_mismatch",
    "stack_imbalance",
    "register_clobber",
    "dma_setup",
    "missing_sep",
    "addressing_errors",
    "branch_range",
    "register_corruption",
    "dma_issues",
    "nmi_race",
    "hdma_corruption",
    "save_corruption",
    "carry_flag",
    "vblank_timing",
    "interrupt_handling",
    "addressing_mode",
    "comparison_logic",
    "loop_termination",
    "16bit_operations",
    "off_by_one",
    "pointer_bugs",
    "timing_issues",
    "bank_boundary",
    "flag_state",
    "initialization",
    "signed_arithmetic",
    "memory_access",
    "subroutine_call",
    "bit_manipulation",
    "oracle_water_collision",
    "oracle_palette_dispatch",
)

# Names the field's data uses for the same bug.
CATEGORY_ALIASES: dict[str, str] = {
    "dma_setup_error": "dma_setup",
    "dma": "dma_issues",
    "register_clobbering": "register_clobber",
    "missing_rep": "mode_mismatch",
    "width_mismatch": "mode_mismatch",
}

# Quest designs' types (the quest -> implementation pairs' category).
QUEST_TYPES: tuple[str, ...] = ("fetch", "talk", "trigger", "fairy_fountain", "hidden_room", "switch_puzzle")


def canonical_category(name: str | None) -> str | None:
    """The taxonomy's name for ``name`` (aliases resolved, case folded); None for no category."""
    if not name:
        return None
    key = name.strip().lower()
    return CATEGORY_ALIASES.get(key, key)


def review_labels(extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    """Every label a reviewer may tag: the taxonomy, its aliases (the field's data uses them) and
    ``extra`` categories already in the store."""
    return sorted({*BUG_CATEGORIES, *CATEGORY_ALIASES, *QUEST_TYPES, *extra})


__all__ = ["BUG_CATEGORIES", "CATEGORY_ALIASES", "QUEST_TYPES", "canonical_category", "review_labels"]

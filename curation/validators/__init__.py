"""Validators: the checks that decide whether a sample is fit to train on.

Each is a ``Validator`` (``base.py``) registered by name; ``profiles.py`` says which run per kind;
``runner.py`` runs them over the store, skipping results it already has.
"""

from curation.validators.base import REGISTRY, ContextValidator, Validator, get_validator, register


def load_builtin() -> None:
    """Import the built-in validators so they register themselves (idempotent)."""
    from curation.validators import (  # noqa: F401
        anti_patterns,
        asm_assembles,
        asm_behaviour,
        asm_flow,
        conventions,
        diagnosis_first,
        length,
        quest,
        rom_patch,
        sram_ownership,
        terminology,
    )


def context_validators() -> list[str]:
    """The validators whose verdicts depend on the workspace (the ROM map): re-judged when it changes."""
    load_builtin()
    return sorted(name for name, validator in REGISTRY.items() if isinstance(validator, ContextValidator))


__all__ = ["REGISTRY", "Validator", "context_validators", "get_validator", "load_builtin", "register"]

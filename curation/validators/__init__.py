"""Validators: the checks that decide whether a sample is fit to train on.

Each is a ``Validator`` (``base.py``) registered by name; ``profiles.py`` says which run per kind;
``runner.py`` runs them over the store, skipping results it already has.
"""

from curation.validators.base import REGISTRY, Validator, get_validator, register


def load_builtin() -> None:
    """Import the built-in validators so they register themselves (idempotent)."""
    from curation.validators import (  # noqa: F401
        anti_patterns,
        asm_assembles,
        diagnosis_first,
        length,
        quest,
        terminology,
    )


__all__ = ["REGISTRY", "Validator", "get_validator", "load_builtin", "register"]

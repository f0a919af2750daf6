"""Validators: the checks that decide whether a sample is fit to train on.

Each is a ``Validator`` (``base.py``) registered by name, declaring the kinds it judges; ``profiles.py``
collects those into which run per kind; ``runner.py`` runs them over the store, skipping results it
already has.
"""

import importlib
import pkgutil

from curation.validators.base import REGISTRY, ContextValidator, Validator, register


def load_builtin() -> None:
    """Import every module of this package once, so each validator in it registers itself: a new
    validator is a new module here, found without being named anywhere else (idempotent)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def get_validator(name: str) -> Validator:
    """The registered validator called ``name`` (every built-in one is loaded first)."""
    load_builtin()
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown validator {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def context_validators() -> list[str]:
    """The validators whose verdicts depend on the workspace (the ROM map): re-judged when it changes."""
    load_builtin()
    return sorted(name for name, validator in REGISTRY.items() if isinstance(validator, ContextValidator))


__all__ = ["REGISTRY", "Validator", "context_validators", "get_validator", "load_builtin", "register"]

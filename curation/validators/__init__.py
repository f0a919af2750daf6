"""Validators: the checks that decide whether a sample is fit to train on.

Each is a ``Validator`` (``base.py``) registered by name, declaring the kinds it judges; ``profiles.py``
collects those into which run per kind; ``runner.py`` runs them over the store, skipping results it
already has.
"""

from curation.validators.base import REGISTRY, ContextValidator, Validator, get_validator, register


def load_builtin() -> None:
    """Import every module of this package once, so each validator in it registers itself: a new
    validator is a new module here, found without being named anywhere else (idempotent)."""
    import importlib
    import pkgutil

    import curation.validators as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def context_validators() -> list[str]:
    """The validators whose verdicts depend on the workspace (the ROM map): re-judged when it changes."""
    load_builtin()
    return sorted(name for name, validator in REGISTRY.items() if isinstance(validator, ContextValidator))


__all__ = ["REGISTRY", "Validator", "context_validators", "get_validator", "load_builtin", "register"]

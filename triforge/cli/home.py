"""Which workspace home a command runs in: ``--home`` or ``$TRIFORGE_HOME``, read once by the entry point.

Kept apart from ``common`` so the root command learns its home without importing the store (every
command's start pays for what the root imports)."""

from __future__ import annotations

from pathlib import Path

from curation.paths import home_from_environ

_home: Path | None = None


def set_home(home: Path | None) -> None:
    """The CLI callback's one job with the environment: ``--home`` or ``$TRIFORGE_HOME``, read once."""
    global _home
    _home = home if home is not None else home_from_environ()


def current_home() -> Path:
    """The workspace home the command runs in (read from the environment if no callback ran)."""
    return _home if _home is not None else home_from_environ()


__all__ = ["current_home", "set_home"]

"""Where Triforge keeps its state: ``$TRIFORGE_HOME`` (default ``./.triforge``)."""

from __future__ import annotations

import os
from pathlib import Path

STORE_FILENAME = "triforge.duckdb"


def triforge_home() -> Path:
    return Path(os.environ.get("TRIFORGE_HOME", ".triforge")).expanduser()


def store_path(home: Path | None = None) -> Path:
    return (home or triforge_home()) / STORE_FILENAME

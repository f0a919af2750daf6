"""Fixed names and the one lookup of the field's data.

Where a workspace keeps its state is :mod:`curation.workspace`'s job; this module holds what does not
depend on a workspace: the home's variable and default (so the CLI's entry point learns its home without
importing the store), the store's file name, and where the bundled field samples are found (the demo, the
proposers' vocabulary and the benches all read them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

HOME_ENV = "TRIFORGE_HOME"
DEFAULT_HOME = ".triforge"
STORE_FILENAME = "triforge.duckdb"
FIELD_DATA_ENV = "TRIFORGE_FIELD_DATA"
# The field's five training files (the eval suites beside them are kept out of every corpus built from it).
FIELD_TRAINING_FILES = (
    "din_optimization_training_v2.jsonl",
    "farore_benchmark.jsonl",
    "farore_debugging_training.jsonl",
    "teacher_pilot_output.jsonl",
    "veran_snes_hardware.jsonl",
)


def home_from_environ(environ: Mapping[str, str] | None = None) -> Path:
    """``$TRIFORGE_HOME`` or ``./.triforge``. For entry points only: libraries take a Workspace."""
    env = os.environ if environ is None else environ
    return Path(env.get(HOME_ENV) or DEFAULT_HOME).expanduser()


def field_data_dir() -> Path | None:
    """``$TRIFORGE_FIELD_DATA``, else ``shared/data/field`` beside the working dir or this checkout."""
    env = os.environ.get(FIELD_DATA_ENV)
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    for base in (Path.cwd(), repo):
        for candidate in (base / "shared/data/field", base.parent / "shared/data/field"):
            if candidate.is_dir():
                return candidate
    return None

"""What the benchmark scripts share: the machine they ran on, and the field's training files."""

from __future__ import annotations

import platform
from pathlib import Path

# The field's five training files (the eval suites beside them are kept out of every corpus).
TRAINING_FILES = (
    "din_optimization_training_v2.jsonl",
    "farore_benchmark.jsonl",
    "farore_debugging_training.jsonl",
    "teacher_pilot_output.jsonl",
    "veran_snes_hardware.jsonl",
)


def cpu_model() -> str:
    """The CPU the figures were measured on: machines of one kind differ, so figures travel with it."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    return next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "?")

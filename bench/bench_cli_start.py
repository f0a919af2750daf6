"""How long ``triforge`` takes to start, printed - never asserted in tests.

Every command pays for importing ``triforge.cli`` and then its own module (``COMMANDS`` there maps each
command to the module imported when it runs; ``--help`` imports them all to list them) before it does
anything. The baseline, measured in the same run, is what any Typer CLI pays: a bare
interpreter plus ``typer`` and ``rich``. The heavy libraries (torch, transformers, trl, peft, argilla,
datasets) must stay out of the start; ``tests/e2e/test_cli.py`` asserts that, this prints the time.

    python bench/bench_cli_start.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "trl", "peft", "argilla", "datasets")


CLI = "import sys; from triforge.cli import main; sys.argv[0] = 'triforge'; main()"


def started(code: str, runs: int, *args: str) -> float:
    """Median wall seconds of a fresh interpreter running ``code`` (with ``args``), this checkout first on
    the path and an empty home."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRIFORGE_HOME": str(ROOT / ".bench-home")}
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, *args], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; checkout {ROOT}")
    bare = started("pass", args.runs)
    typer_only = started("import typer, rich", args.runs)
    root = started("import triforge.cli", args.runs)
    version = started(CLI, args.runs, "--version")
    one = started(CLI, args.runs, "samples", "--help")
    every = started(CLI, args.runs, "--help")
    check = f"import sys, triforge.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    loaded = subprocess.run([sys.executable, "-c", check], env=env, cwd=ROOT, capture_output=True, text=True).stdout
    print(f"{'bare interpreter':<32}{bare:6.3f} s")
    print(f"{'typer + rich (baseline)':<32}{typer_only:6.3f} s")
    for label, seconds in (
        ("import triforge.cli", root),
        ("triforge --version", version),
        ("triforge samples --help", one),
        ("triforge --help (every command)", every),
    ):
        print(f"{label:<32}{seconds:6.3f} s  ({seconds / typer_only:4.1f}x the baseline)")
    print(f"heavy libraries loaded at start: {loaded.strip() or 'none'}")


if __name__ == "__main__":
    main()

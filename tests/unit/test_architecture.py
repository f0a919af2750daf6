"""The layer contracts hold, and they are not decoration: an arrow that points up breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.factories import REPO

LINT = str(Path(sys.executable).with_name("lint-imports"))


def _lint(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--config", str(config)], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_every_import_respects_the_layers():
    result = _lint(REPO / ".importlinter")
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_contract(tmp_path):
    """Swap two layers: every pipeline's import of curation then points up, and the check fails naming it."""
    config = tmp_path / "swapped.ini"
    text = (REPO / ".importlinter").read_text()
    assert "ignore_imports" not in text  # no recorded exceptions: every arrow points down
    swapped = text.replace("    pipelines\n    generators | trainer\n    curation\n",
                           "    curation\n    generators | trainer\n    pipelines\n")  # fmt: skip
    assert swapped != text
    config.write_text(swapped)
    result = _lint(config)
    assert result.returncode != 0
    assert "pipelines is not allowed to import curation" in " ".join(result.stdout.split())


def test_lint_imports_is_installed():
    assert shutil.which(LINT) or Path(LINT).exists()

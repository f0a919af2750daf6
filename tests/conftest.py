"""Shared fixtures: an isolated $TRIFORGE_HOME per test and the real field data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from curation.paths import FIELD_TRAINING_FILES, field_data_dir
from curation.store import Store
from curation.workspace import Workspace

# The console script of the environment running the tests, for tests that need a real process to kill.

FIELD = field_data_dir()


# What a test needs, marked from the fixtures it uses: `pytest -m "not argilla and not model and not
# browser"` is the inner loop that needs no Argilla server, no language model and no Chromium. The browser
# tests mark themselves.
_MARKERS_BY_FIXTURE = {"argilla": "argilla", "tiny_model": "model", "smollm2_home": "model"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, marker in _MARKERS_BY_FIXTURE.items():
            if fixture in used:
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def field_dir() -> Path:
    if FIELD is None:
        pytest.fail("field data not found: set TRIFORGE_FIELD_DATA or keep shared/ beside the checkout")
    return FIELD


@pytest.fixture(scope="session")
def usdasm_dir(field_dir: Path) -> Path:
    """The shared US disassembly: a user's checkout that Triforge reads at run time (never copied)."""
    path = field_dir.parent / "usdasm"
    if not (path / "bank_05.asm").is_file():
        pytest.fail(f"the US disassembly checkout is not at {path}")
    return path


@pytest.fixture(scope="session")
def rom_map(usdasm_dir: Path):
    """The ROM map built from the shared checkout, once per session (about a second)."""
    from curation.rommap import build_rom_map

    return build_rom_map(usdasm_dir)


@pytest.fixture
def home_with_map(home: Path, rom_map) -> Path:
    """A home whose workspace holds the ROM map (what ``triforge rom-map build`` leaves)."""
    from curation.workspace import WorkspacePaths

    rom_map.save(WorkspacePaths(home).rom_map)
    return home


@pytest.fixture
def field_files(field_dir: Path) -> list[Path]:
    return [field_dir / name for name in FIELD_TRAINING_FILES]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("TRIFORGE_HOME", str(path))
    return path


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    """The test's workspace; its store opens on first use and closes after the test."""
    with Workspace(home) as ws:
        yield ws


@pytest.fixture
def store(workspace: Workspace) -> Store:
    """The workspace's store, for tests that read its tables directly."""
    return workspace.store


@pytest.fixture(scope="session")
def validated_store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The field data imported and validated once per session (assembling takes seconds)."""
    from curation.importers import import_files
    from curation.validators.runner import validate_samples

    if FIELD is None:
        pytest.fail("field data not found")
    path = tmp_path_factory.mktemp("validated") / "triforge.duckdb"
    with Workspace.of_store(Store(path)) as workspace:
        import_files(workspace, [FIELD / name for name in FIELD_TRAINING_FILES])
        validate_samples(workspace)
    return path


@pytest.fixture
def validated_workspace(validated_store_file: Path, home: Path) -> Iterator[Workspace]:
    """The test's workspace, holding a private copy of the validated store, so tests may change it."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(validated_store_file, home / "triforge.duckdb")
    with Workspace(home) as workspace:
        yield workspace


@pytest.fixture
def validated_store(validated_workspace: Workspace) -> Store:
    return validated_workspace.store


@pytest.fixture(scope="session")
def argilla(tmp_path_factory: pytest.TempPathFactory):
    """The real local Argilla stack (`triforge labeling up`'s code), once per session for every test file
    that reviews: (stack, owner credentials)."""
    from labeling.argilla.stack import LabelingStack
    from tests.local_http import free_port

    stack = LabelingStack(tmp_path_factory.mktemp("argilla-home"))
    creds = stack.up(port=free_port())
    try:
        yield stack, creds
    finally:
        stack.down()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with SmolLM2's real tokenizer and chat template (read from the shipped GGUF):
    the same code path as the real model, at a size that trains in a second."""
    import torch
    import transformers

    from trainer.base_models import smollm2_gguf

    gguf = smollm2_gguf()
    tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny") / "tiny-llama"
    transformers.LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def smollm2_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose models/ holds the real SmolLM2-135M-Instruct, converted from the shipped GGUF once."""
    from trainer.base_models import resolve_base_model

    home = tmp_path_factory.mktemp("smollm2-home")
    resolve_base_model("smollm2", home)
    return home

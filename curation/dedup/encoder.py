"""What the MiniLM backends derived for dedup share: the encoder traced to ONNX, its tokenizer, and
sentence-transformers' mean pooling over length-bucketed batches. ``onnx_embed`` (ONNX Runtime, dynamic
int8) and ``openvino_embed`` (OpenVINO, NNCF static int8) each quantise and run the same export."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def max_tokens(source: Path) -> int:
    """The source model's truncation length (sentence-transformers' ``max_seq_length``, 256 for MiniLM)."""
    config = Path(source) / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256


def export_fp32(source: Path, path: Path) -> None:
    """Trace ``source``'s encoder (a local transformers/sentence-transformers folder) into an ONNX
    graph at ``path``: (input_ids, attention_mask) -> last hidden state, batch and length dynamic."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    # Eager attention: the SDPA path's mask logic would be traced with the example's shapes.
    model = AutoModel.from_pretrained(source, local_files_only=True, attn_implementation="eager").eval()

    class _Hidden(torch.nn.Module):
        """The encoder's last hidden state from (input_ids, attention_mask): the graph's signature."""

        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = tokenizer(["a short example"], return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes the graph keeps dynamic
        torch.onnx.export(
            _Hidden(model),
            (example["input_ids"], example["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17,
            dynamo=False,
        )


def load_tokenizer(folder: Path, truncate_at: int):
    """The source model's fast tokenizer, truncating as sentence-transformers does and not padding
    (``mean_pooled`` pads each length bucket itself)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(truncate_at)
    tokenizer.no_padding()
    return tokenizer


def mean_pooled(
    tokenizer, texts: Sequence[str], hidden: Callable[[np.ndarray, np.ndarray], np.ndarray], dim: int, batch_size: int
) -> np.ndarray:
    """Unit-length mean-pooled vectors of ``texts`` (inner product is cosine), as sentence-transformers
    pools, with ``hidden(input_ids, attention_mask)`` running the encoder on one batch.

    Length buckets: texts are sorted by token count, so each batch pads to its own longest text, not
    the corpus's; vectors come back in the order of ``texts``."""
    encodings = tokenizer.encode_batch(list(texts))
    lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
    out = np.zeros((len(texts), dim), dtype=np.float32)
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = int(lengths[rows].max())
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for k, row in enumerate(rows.tolist()):
            ids[k, : lengths[row]] = encodings[row].ids
            mask[k, : lengths[row]] = 1
        states = hidden(ids, mask)
        out[rows] = (states * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)

"""The shipped MiniLM exported once, locally, to ONNX and quantised to int8 for ONNX Runtime.

Same model, same tokenizer, same mean pooling and 256-token truncation as sentence-transformers,
so its vectors are MiniLM's up to quantisation error. Two things make it several times faster
than the float graph (and than sentence-transformers) on two cores:

- int8 weights for the weight MatMuls only (dynamic quantisation, per output channel), except the
  feed-forward down-projections: quantising everything (embedding lookup and attention products
  included, per tensor) moved cosines by up to 0.13 and cost 0.12 paraphrase recall; this way the
  largest move measured was 0.008 and recall stayed within 0.02 of the float model's;
- length-bucketed batches: texts sorted by token count, so a batch pads to its own longest text,
  not the corpus's.

Activations are quantised per batch (dynamic quantisation), so the same text in another batch
gets a vector that differs slightly (cosine > 0.99), unlike the float model.

The export (torch.onnx, then ``onnxruntime.quantization``) takes ~10 s and runs at first use; the
result is cached under the workspace's ``models/`` folder. Nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from curation.dedup.folders import replace_dir, scratch_beside

VERSION = 1  # bump when the export or quantisation changes, so cached models are rebuilt


def onnx_model_dir(models: Path, source: Path) -> Path:
    """Where the int8 export of ``source`` is cached under a workspace's models folder."""
    return models / f"onnx-int8-{source.name}-v{VERSION}"


def max_tokens(source: Path) -> int:
    config = Path(source) / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256


def _is_ffn_output(node: str) -> bool:
    """The feed-forward down-projections (``layer.N/output/dense``): their inputs have the widest
    range, and keeping them in float halved the quantisation error for ~10% of the speed."""
    return node.endswith("/output/dense/MatMul") and "/attention/" not in node


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


def export_int8(source: Path, target: Path) -> Path:
    """Export ``source`` (a local transformers/sentence-transformers folder) to an int8 ONNX graph."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = scratch_beside(target)
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # onnxruntime.quantization logs advice on the root logger
    try:
        with tempfile.TemporaryDirectory() as scratch:
            fp32 = Path(scratch) / "model.onnx"
            export_fp32(source, fp32)
            graph = onnx.load(str(fp32)).graph
            keep_float = [n.name for n in graph.node if n.op_type == "MatMul" and _is_ffn_output(n.name)]
            quantize_dynamic(
                str(fp32), str(tmp / "model_int8.onnx"), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                per_channel=True, nodes_to_exclude=keep_float, extra_options={"MatMulConstBOnly": True},
            )  # fmt: skip
    finally:
        logging.disable(previous)
    shutil.copyfile(Path(source) / "tokenizer.json", tmp / "tokenizer.json")
    meta = {"source": str(source), "version": VERSION, "max_tokens": max_tokens(source)}
    (tmp / "meta.json").write_text(json.dumps(meta))
    replace_dir(tmp, target)
    return target


def load_tokenizer(folder: Path, max_tokens: int):
    """The source model's fast tokenizer, truncating as sentence-transformers does and not padding
    (``mean_pooled`` pads each length bucket itself)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_tokens)
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


class OnnxModel:
    """ONNX Runtime session over the int8 graph, with MiniLM's tokenizer and mean pooling."""

    def __init__(self, folder: Path) -> None:
        import onnxruntime

        self.folder = folder
        meta = json.loads((folder / "meta.json").read_text())
        self.tokenizer = load_tokenizer(folder, int(meta["max_tokens"]))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(folder / "model_int8.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    @classmethod
    def materialise(cls, models: Path, source: Path) -> OnnxModel:
        """The cached int8 export of ``source``, exporting it first if there is none yet."""
        folder = onnx_model_dir(models, source)
        if not (folder / "meta.json").exists():
            export_int8(source, folder)
        return cls(folder)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length float32 vectors (inner product is cosine), like ``embeddings.embed``."""

        def hidden(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

        return mean_pooled(self.tokenizer, texts, hidden, self.dim, batch_size)

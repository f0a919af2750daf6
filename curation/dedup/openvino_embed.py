"""The shipped MiniLM quantised to int8 by NNCF and run by OpenVINO: semantic dedup in minutes on a CPU.

Same model, tokenizer, 256-token truncation and mean pooling as sentence-transformers; the vectors
are MiniLM's up to quantisation error. Measured on two cores (``bench/bench_dedup.py``), it embeds
6.4x as many documents a second as MiniLM through sentence-transformers (1.6x the ONNX Runtime int8
backend), with MiniLM's precision and recall within 0.02; on the bench's texts a text's own vector
moves by at most 0.005 in cosine (0.011 for the ONNX Runtime backend; an empty text moves 0.02). Why:

- **Static quantisation, transformer-aware.** NNCF (OpenVINO's compression library) quantises the
  weight MatMuls with activation ranges measured once on calibration texts, applies SmoothQuant
  (activation outliers moved into the weights; ``SMOOTH_QUANT_ALPHA``) and bias correction, and
  leaves the ops that quantise badly in transformers (softmax, layer norms, attention products) in
  float. ONNX
  Runtime's dynamic quantisation has to keep the feed-forward down-projections in float instead,
  which was a third of its time.
- **OpenVINO's CPU kernels** (int8 dot products where the CPU has them: VNNI, AMX).
- **The precision is pinned to f32** for what stays in float, so a CPU with bf16 support computes
  the same vectors as one without; activation scales are fixed at export, so a text's vector does
  not depend on the batch it is in (unlike the dynamic int8 backend).

Calibration uses ``CALIBRATION_TEXTS``: fixed, in-domain texts assembled from the sentences below,
so every workspace derives the same model (with the same torch, NNCF and OpenVINO versions). NNCF is
imported with its usage telemetry never started (``_nncf_without_telemetry``): Triforge sends
nothing anywhere at run time and writes nothing outside the workspace.

The export (torch.onnx, OpenVINO's converter, NNCF) takes ~30 s once; the result is cached under the
workspace's ``models/`` folder. Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from curation.dedup.encoder import export_fp32, load_tokenizer, max_tokens, mean_pooled
from curation.dedup.folders import replace_dir, scratch_beside

VERSION = 3  # bump when the export, the quantisation or the calibration texts change
# How much of each activation's range SmoothQuant moves into the weights. NNCF's transformer default
# (0.95) raised cosines by 0.007 on average against MiniLM's, so more pairs crossed a threshold;
# 0.8-0.9 moved them by under 0.002 on average (0.006 per pair), at the same speed.
SMOOTH_QUANT_ALPHA = 0.85

_SENTENCES = (
    "The routine at $0D8F writes the sprite's X position to $0D10,X but never sets the high byte in $0D30,X.",
    "LDA #$80 followed by STA $2100 turns forced blank on before the DMA to VRAM starts.",
    "REP #$20 switches the accumulator to 16 bits, so the following LDA #$00 assembles to three bytes.",
    "Use SEP #$30 before the 8-bit table lookup, otherwise INX walks two bytes per entry.",
    "The hook at $1BBDF5 jumps to free space in bank $3F, and the code returns with RTL.",
    "Link's state is read from $5D; values $00 to $1F cover the normal movement states.",
    "The bug: the routine pushes the data bank with PHB but returns before PLB restores it.",
    "Check the carry flag after the comparison: BCC branches when the value is below the limit.",
    "DMA channel 0 copies $0800 bytes from $7E2000 to VRAM address $4000 during vertical blank.",
    "Wait for VBlank by polling bit 7 of $4212 (HVBJOY) before touching the PPU registers.",
    "The quest starts when the player talks to the old man in the village after getting the lamp.",
    "Reward: a heart piece placed in the chest at the end of the dungeon's east wing.",
    "Implement the new item by adding an entry to the item table at $0DDD and a graphics pointer.",
    "The overworld map 18 has a secret entrance that opens when all four torches are lit.",
    "Limits: the new room must reuse an existing tileset, and the boss keeps its original AI.",
    "Fix: replace JSR with JSL, because the target routine lives in another bank and ends with RTL.",
    "The 65816 direct page register moves zero-page addressing, so LDA $10 reads $0010 plus D.",
    "An off-by-one error: the loop counts from 0 to 16 inclusive and overwrites the next table.",
    "The NMI handler saves A, X and Y, then updates OAM from the buffer at $0800 with DMA.",
    "Use the free RAM at $7EF403 for the quest flag, and set bit 0 once the reward is collected.",
    "The sound effect ID goes to $012E; writing it twice in one frame drops the first sound.",
    "In 16-bit index mode, LDX #$0010 loads the full word; in 8-bit mode only the low byte.",
    "The asar patch uses org $22A000 and pushpc/pullpc so the hook does not move other code.",
    "Test the change in the emulator's debugger with a breakpoint on writes to $7E0010.",
    "Diagnosis first: the crash comes from the stack, which grows by one byte on every call.",
    "Write the dialogue text with the message table editor and point message $0123 at it.",
    "The dungeon's key counter lives in $7EF36F and must be reset when the player leaves.",
    "Mode 7 scrolling uses $210D and $210E, written twice each: low byte first, then high byte.",
    "Why it fails: the branch target is more than 127 bytes away, so BNE cannot reach it; use BRL.",
    "A sprite that despawns too early: its off-screen check ignores the camera's high byte.",
    "How do I make a boss drop a different item? Patch the drop table entry for that sprite ID.",
    "The answer explains the symptom, names the cause, then shows the corrected assembly.",
)


_CODE = "LDA $0D10,X\nCLC\nADC #$08\nSTA $0D10,X\nBCC +\nINC $0D30,X\n+ RTL"


def _calibration_texts(count: int = 96, seed: int = 0) -> list[str]:
    """``count`` texts of 3-7 of the sentences above, in varied orders (the lengths and vocabulary of
    the debugging dialogues and quest pairs dedup sees), plus the extremes a corpus also holds -
    empty and one-word texts, bare code, one word repeated past the 256-token window, every sentence
    at once - whose activations would otherwise fall outside the measured ranges and be clipped.
    Deterministic, so every export is the same."""
    rng = random.Random(seed)
    texts = [" ".join(rng.sample(_SENTENCES, rng.randint(3, 7))) for _ in range(count)]
    extremes = ["", "lda", "RTS", "ok, thanks!", _CODE, "\n".join([_CODE] * 12), " ".join(["word"] * 300)]
    extremes.append(" ".join(["$FF"] * 200))
    return texts + extremes + [" ".join(_SENTENCES), "\n".join(reversed(_SENTENCES))]


CALIBRATION_TEXTS = _calibration_texts()


def _nncf_without_telemetry():
    """NNCF, imported so that its usage telemetry never starts.

    At import NNCF builds an ``openvino_telemetry`` client (which writes a client id and usage counts
    under ``~/intel``) before it checks ``NNCF_CI`` and swaps in its stub; with the package hidden
    during the import it takes the stub path at once. OpenVINO's runtime (``read_model``,
    ``save_model``, ``compile_model``) sends nothing; only its converter tools would."""
    if "nncf" in sys.modules:
        return sys.modules["nncf"]
    os.environ.setdefault("NNCF_CI", "1")
    hidden = sys.modules.get("openvino_telemetry")
    sys.modules["openvino_telemetry"] = None  # makes `import openvino_telemetry` raise ImportError
    try:
        import nncf
    finally:
        if hidden is None:
            del sys.modules["openvino_telemetry"]
        else:
            sys.modules["openvino_telemetry"] = hidden
    return nncf


def openvino_model_dir(models: Path, source: Path) -> Path:
    """Where the NNCF int8 model of ``source`` is cached under a workspace's models folder."""
    return models / f"openvino-int8-{source.name}-v{VERSION}"


def export_openvino_int8(source: Path, target: Path, calibration: Sequence[str] = CALIBRATION_TEXTS) -> Path:
    """Export ``source`` (a local transformers/sentence-transformers folder) to an int8 OpenVINO model."""
    nncf = _nncf_without_telemetry()
    import openvino

    tmp = scratch_beside(target)
    limit = max_tokens(source)
    shutil.copyfile(Path(source) / "tokenizer.json", tmp / "tokenizer.json")
    tokenizer = load_tokenizer(tmp, limit)
    items = []
    for encoding in tokenizer.encode_batch(list(calibration)):
        ids = np.asarray([encoding.ids], dtype=np.int64)
        items.append({"input_ids": ids, "attention_mask": np.ones_like(ids)})
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "model.onnx"
        export_fp32(source, fp32)
        model = openvino.Core().read_model(str(fp32))
        quantised = nncf.quantize(
            model,
            nncf.Dataset(items),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(items),
            advanced_parameters=nncf.AdvancedQuantizationParameters(
                smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(matmul=SMOOTH_QUANT_ALPHA)
            ),
        )
        openvino.save_model(quantised, str(tmp / "model.xml"), compress_to_fp16=False)
    meta = {"source": str(source), "version": VERSION, "max_tokens": limit, "calibration_texts": len(items)}
    (tmp / "meta.json").write_text(json.dumps(meta))
    replace_dir(tmp, target)
    return target


class OpenVinoModel:
    """The compiled int8 model, with MiniLM's tokenizer and mean pooling."""

    def __init__(self, folder: Path) -> None:
        import openvino

        self.folder = folder
        meta = json.loads((folder / "meta.json").read_text())
        self.tokenizer = load_tokenizer(folder, int(meta["max_tokens"]))
        core = openvino.Core()
        model = core.read_model(str(folder / "model.xml"))
        self.dim = int(model.output(0).get_partial_shape()[-1].get_length())
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        self.request = core.compile_model(model, "CPU", config).create_infer_request()

    @classmethod
    def materialise(cls, models: Path, source: Path) -> OpenVinoModel:
        """The cached int8 model of ``source``, exporting it first if there is none yet."""
        folder = openvino_model_dir(models, source)
        if not (folder / "meta.json").exists():
            export_openvino_int8(source, folder)
        return cls(folder)

    def embed(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """Unit-length float32 vectors (inner product is cosine), like ``embeddings.embed``.

        Batches of 16: on two cores they ran faster than 32-128 (less padding per length bucket)."""

        def hidden(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return self.request.infer({"input_ids": ids, "attention_mask": mask})[0]

        return mean_pooled(self.tokenizer, texts, hidden, self.dim, batch_size)

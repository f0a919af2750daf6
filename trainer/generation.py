"""Loading a base model or a trained adapter, and chatting with it.

One loader serves ``triforge eval``, ``triforge serve-model`` and the bootstrap proposer, so an adapter
is always put together the same way: the base checkpoint named in its manifest, then the LoRA weights.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.errors import Invalid
from trainer.base_models import resolve_base_model
from trainer.hf import quiet_hf


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" (end-of-turn token) or "length"


@dataclass
class LoadedModel:
    """A model ready to generate. ``name`` is what callers see (adapter dir name or base model name)."""

    name: str
    model: Any
    tokenizer: Any
    adapter_dir: Path | None
    base_model: str
    manifest: dict[str, Any] | None
    lock: threading.Lock

    @property
    def stop_token_ids(self) -> set[int]:
        configured = self.model.generation_config.eos_token_id
        ids = configured if isinstance(configured, list) else [configured]
        return {i for i in [self.tokenizer.eos_token_id, *ids] if i is not None}

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> Completion:
        """Greedy when temperature is 0; sampled and reproducible per ``seed`` otherwise."""
        import torch

        encoded = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        input_ids = encoded["input_ids"]
        kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if temperature > 0:
            kwargs |= {"do_sample": True, "temperature": temperature, "top_p": top_p}
        else:
            kwargs |= {"do_sample": False}
        with self.lock, torch.inference_mode():  # one generation at a time: torch on CPU already uses all cores
            if seed is not None:
                torch.manual_seed(seed)
            device = self.model.device
            mask = encoded["attention_mask"].to(device)
            output = self.model.generate(input_ids=input_ids.to(device), attention_mask=mask, **kwargs)
        new = output[0][input_ids.shape[1] :]
        finish = "stop" if len(new) and int(new[-1]) in self.stop_token_ids else "length"
        text = self.tokenizer.decode(new, skip_special_tokens=True).strip()
        return Completion(text, int(input_ids.shape[1]), len(new), finish)

    def chat_many(
        self,
        conversations: list[list[dict[str, str]]],
        *,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> list[Completion]:
        """Answer several conversations in one left-padded ``generate`` call.

        On a CPU a batch of 8 costs little more per step than one prompt, so an eval of 100 cases takes a
        fraction of the time. Greedy outputs are the same as one at a time up to float rounding; the batch
        size is part of the stored generation settings, so a run repeats exactly."""
        import torch

        if len(conversations) == 1:
            return [self.chat(conversations[0], max_new_tokens=max_new_tokens, temperature=temperature,
                              top_p=top_p, seed=seed)]  # fmt: skip
        prompts = [
            self.tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations
        ]
        side = self.tokenizer.padding_side
        self.tokenizer.padding_side = "left"  # generation continues from the right edge of every row
        try:
            encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        finally:
            self.tokenizer.padding_side = side
        kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        kwargs |= (
            {"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0 else {"do_sample": False}
        )
        with self.lock, torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            device = self.model.device
            output = self.model.generate(
                input_ids=encoded["input_ids"].to(device), attention_mask=encoded["attention_mask"].to(device), **kwargs
            )
        width = encoded["input_ids"].shape[1]
        stops = self.stop_token_ids
        completions = []
        for row, mask in zip(output, encoded["attention_mask"], strict=True):
            new = row[width:].tolist()
            ends = [i for i, t in enumerate(new) if t in stops]
            if ends:
                new = new[: ends[0] + 1]
            else:  # rows that finished early are padded after their stop token; strip any padding left
                while new and new[-1] == self.tokenizer.pad_token_id and self.tokenizer.pad_token_id not in stops:
                    new.pop()
            finish = "stop" if ends else "length"
            text = self.tokenizer.decode(new, skip_special_tokens=True).strip()
            completions.append(Completion(text, int(mask.sum()), len(new), finish))
        return completions


def read_manifest(adapter_dir: Path) -> dict[str, Any] | None:
    path = adapter_dir / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def is_adapter(path: Path) -> bool:
    return (path / "adapter_config.json").is_file()


def _placement() -> dict[str, Any]:
    """bf16 on a CUDA GPU (a 7B model in fp32 on CPU is 28 GB and crawls), fp32 on CPU."""
    import torch

    if torch.cuda.is_available():
        return {"dtype": torch.bfloat16, "device_map": "cuda"}
    return {"dtype": torch.float32}


def load_model(ref: str | Path, *, home: Path | None = None) -> LoadedModel:
    """``ref`` is an adapter directory written by ``triforge train``, a model directory, or ``smollm2``
    (converted once into the models folder of the workspace at ``home``, which a named model needs)."""
    import transformers

    quiet_hf()
    path = Path(ref).expanduser()
    if is_adapter(path):
        from peft import PeftModel

        manifest = read_manifest(path)
        config = json.loads((path / "adapter_config.json").read_text())
        base_ref = (manifest or {}).get("base_model_path") or config.get("base_model_name_or_path")
        if not base_ref:
            raise Invalid(f"{path}: adapter names no base model")
        base = resolve_base_model(base_ref, home)
        model = transformers.AutoModelForCausalLM.from_pretrained(base.path, **_placement())
        model = PeftModel.from_pretrained(model, path)
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            path if (path / "tokenizer_config.json").is_file() else base.path
        )
        name, adapter_dir, base_name = path.resolve().name, path.resolve(), base.name
    else:
        base = resolve_base_model(str(ref), home)
        model = transformers.AutoModelForCausalLM.from_pretrained(base.path, **_placement())
        tokenizer = transformers.AutoTokenizer.from_pretrained(base.path)
        name, adapter_dir, base_name, manifest = base.name, None, base.name, None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    return LoadedModel(name, model, tokenizer, adapter_dir, base_name, manifest, threading.Lock())

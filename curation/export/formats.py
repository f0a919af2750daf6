"""Row renderers for each export format.

- ``chatml``: ``{"id", "messages": [{role, content}]}`` - the OpenAI/Hugging Face chat shape that
  trl's SFTTrainer and most trainers read directly.
- ``alpaca``: ``{"id", "instruction", "input", "output", "system"}``; earlier turns of a multi-turn
  dialogue are folded into ``input`` so nothing is lost.
- ``sharegpt``: ``{"id", "conversations": [{from: system|human|gpt, value}]}``.
- ``mlx-chat`` / ``mlx-completion``: what ``mlx_lm.lora`` reads (``{"messages"}`` /
  ``{"prompt", "completion"}``), with the ``train/valid/test.jsonl`` names it expects.
- ``parquet``: one typed table per split, with provenance columns, for analysis and object storage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.sample import Role, SampleRevision

Row = dict[str, Any]


def _messages(rev: SampleRevision) -> list[Row]:
    return [{"role": m.role.value, "content": m.content} for m in rev.messages]


def chatml(sample_id: str, rev: SampleRevision) -> Row:
    return {"id": sample_id, "messages": _messages(rev)}


def alpaca(sample_id: str, rev: SampleRevision) -> Row:
    turns = [m for m in rev.messages if m.role != Role.system]
    earlier = turns[:-2]
    history = "\n\n".join(f"{m.role.value}: {m.content}" for m in earlier)
    return {
        "id": sample_id,
        "instruction": turns[-2].content if len(turns) >= 2 else rev.prompt,
        "input": history,
        "output": rev.answer,
        "system": rev.system or "",
    }


_SHAREGPT_FROM = {Role.system: "system", Role.user: "human", Role.assistant: "gpt"}


def sharegpt(sample_id: str, rev: SampleRevision) -> Row:
    return {
        "id": sample_id,
        "conversations": [{"from": _SHAREGPT_FROM[m.role], "value": m.content} for m in rev.messages],
    }


def mlx_chat(sample_id: str, rev: SampleRevision) -> Row:
    return {"messages": _messages(rev)}


def mlx_completion(sample_id: str, rev: SampleRevision) -> Row:
    """mlx-lm wraps prompt/completion in the chat template itself; the system text leads the prompt."""
    prompt = rev.prompt if not rev.system else f"{rev.system}\n\n{rev.prompt}"
    return {"prompt": prompt, "completion": rev.answer}


def parquet_row(sample_id: str, rev: SampleRevision) -> Row:
    return {
        "id": sample_id,
        "kind": rev.kind.value,
        "category": rev.category,
        "messages": _messages(rev),
        "system": rev.system,
        "prompt": rev.prompt,
        "answer": rev.answer,
        "source_type": rev.provenance.source_type.value,
        "source_name": rev.provenance.source_name,
        "parent_id": rev.parent_id,
        "metadata": json.dumps(rev.metadata, sort_keys=True, ensure_ascii=False),
    }


@dataclass(frozen=True)
class ExportFormat:
    name: str
    render: Callable[[str, SampleRevision], Row]
    suffix: str
    description: str


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("chatml", chatml, ".jsonl", "chat messages (OpenAI / Hugging Face / trl)"),
        ExportFormat("alpaca", alpaca, ".jsonl", "instruction / input / output"),
        ExportFormat("sharegpt", sharegpt, ".jsonl", "conversations with from / value"),
        ExportFormat("mlx-chat", mlx_chat, ".jsonl", "mlx-lm chat data"),
        ExportFormat("mlx-completion", mlx_completion, ".jsonl", "mlx-lm prompt / completion data"),
        ExportFormat("parquet", parquet_row, ".parquet", "typed Parquet table with provenance"),
    )
}

"""Training data: the snapshot's chat export, tokenized with loss on assistant tokens only.

Training reads the very files ``triforge export --format chatml`` writes (same split seed, same
stratified split), so what a model learned from is an artifact anyone can open, and its sha256 goes
into the manifest. The assistant mask is found by rendering the chat template turn by turn: the tokens
an assistant turn adds to the rendered prefix are its own. That works for any template that renders
prefixes stably (ChatML, Llama 3, Qwen), so no model-specific ``{% generation %}`` markers are needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IGNORE_INDEX = -100


@dataclass
class TokenizedSplit:
    rows: list[dict[str, list[int]]] = field(default_factory=list)
    truncated: int = 0
    skipped: list[str] = field(default_factory=list)  # ids with no assistant token left after truncation

    @property
    def assistant_tokens(self) -> int:
        return sum(sum(1 for t in r["labels"] if t != IGNORE_INDEX) for r in self.rows)


def read_chat_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _ids(tokenizer: Any, messages: list[dict[str, str]], *, generation_prompt: bool) -> list[int]:
    out = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=generation_prompt)
    if hasattr(out, "keys"):  # transformers 5 returns a BatchEncoding
        out = out["input_ids"]
    return list(out)


def tokenize_dialogue(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """input_ids of the whole dialogue and labels that keep only assistant-turn tokens."""
    input_ids = _ids(tokenizer, messages, generation_prompt=False)
    labels = [IGNORE_INDEX] * len(input_ids)
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start = len(_ids(tokenizer, messages[:i], generation_prompt=True)) if i else 0
        end = len(_ids(tokenizer, messages[: i + 1], generation_prompt=False))
        labels[start:end] = input_ids[start:end]
    return input_ids, labels


def tokenize_rows(tokenizer: Any, rows: list[dict[str, Any]], max_length: int) -> TokenizedSplit:
    split = TokenizedSplit()
    for row in rows:
        input_ids, labels = tokenize_dialogue(tokenizer, row["messages"])
        if len(input_ids) > max_length:
            split.truncated += 1
            input_ids, labels = input_ids[:max_length], labels[:max_length]
        if all(t == IGNORE_INDEX for t in labels):
            split.skipped.append(row.get("id", "?"))
            continue
        split.rows.append({"input_ids": input_ids, "labels": labels})
    return split

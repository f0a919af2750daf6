"""``gold_nll``: how likely a model finds a reference answer, per token - one forward pass per case.

A generation metric needs a model to write 160 tokens per case and a scorer to judge them: minutes per
model on a CPU, and coarse (a structure passes or not). The gold-answer metric asks the cheaper question
a training run is built to move: given the prompt, what is the mean negative log-likelihood of each token
of an answer an expert approved (its end-of-turn marker included, so knowing when to stop counts)? Lower
is better; paired over the same gold cases, two models' difference has a tight interval at 20-40 cases.

What it measures is closeness to *that* answer's wording and structure - a model that learnt the
diagnosis-first layout gains here even before its generations show it. What it does not: a held-out loss
can fall while greedy generations stay the same (or get worse, when a model grows confident in a
format and wrong in content), and a model that answers correctly in other words is not rewarded. Read
it beside the generation metrics, never instead of them.

Gold cases are chat rows (``{"messages": [..., {"role": "assistant", ...}]}``, optional ``id`` and
``category``): a file the user keeps, or the samples a filter selects, frozen into the experiment's folder
so a resumed run scores the same cases.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from curation.errors import Invalid
from schemas.json_input import loads_strict

GOLD_SUITE = "gold"
MAX_TOKENS = 1024  # prompt + answer; longer references are cut at the end (counted tokens say how many)


@dataclass(frozen=True)
class GoldCase:
    """A prompt (every turn before the last) and the reference answer (the last, an assistant turn)."""

    name: str
    messages: list[dict[str, str]]
    reference: str
    category: str | None = None

    @property
    def prompt(self) -> str:
        """The user's words, as the contamination check compares them with training prompts."""
        return "\n".join(m["content"] for m in self.messages if m["role"] == "user")

    def as_row(self) -> dict[str, Any]:
        turns = [*self.messages, {"role": "assistant", "content": self.reference}]
        return {"id": self.name, "category": self.category, "messages": turns}


def gold_case(name: str, turns: Sequence[dict[str, Any]], category: str | None = None) -> GoldCase:
    """A case from chat turns; the last must be the assistant's and some earlier one the user's."""
    clean = [{"role": str(t.get("role", "")), "content": str(t.get("content", ""))} for t in turns]
    if len(clean) < 2 or clean[-1]["role"] != "assistant" or not clean[-1]["content"].strip():
        raise Invalid(f"gold case {name}: the last turn must be a non-empty assistant answer")
    if not any(t["role"] == "user" for t in clean[:-1]):
        raise Invalid(f"gold case {name}: no user turn before the answer")
    return GoldCase(name, clean[:-1], clean[-1]["content"], category)


def read_gold_file(path: Path) -> list[GoldCase]:
    """Chat rows, one per line; a malformed line is an error naming it (a gold set is small and curated:
    a silently skipped case would change what every model is scored on)."""
    cases: list[GoldCase] = []
    seen: set[str] = set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = loads_strict(line)
            turns = row["messages"]
            name = str(row.get("id") or f"gold-{number}")
        except (ValueError, KeyError, TypeError) as exc:
            raise Invalid(f"{path}:{number}: expected a chat row with 'messages': {exc}") from exc
        if name in seen:
            raise Invalid(f"{path}:{number}: gold case {name!r} appears twice")
        seen.add(name)
        try:
            cases.append(gold_case(name, turns, row.get("category")))
        except Invalid as exc:
            raise Invalid(f"{path}:{number}: {exc}") from exc
    if not cases:
        raise Invalid(f"{path}: no gold cases")
    return cases


def write_gold_file(cases: Iterable[GoldCase], path: Path) -> str:
    """Freeze ``cases`` as JSONL; returns the file's sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(c.as_row(), ensure_ascii=False) + "\n" for c in cases)
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AnswerLoss:
    """One case under one model: mean NLL per reference token, and how many tokens were scored."""

    name: str
    nll: float
    tokens: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _split_ids(tokenizer: Any, case: GoldCase) -> tuple[list[int], int]:
    """Token ids of prompt + answer in the model's chat format, and where the answer starts."""
    prompt_text = tokenizer.apply_chat_template(case.messages, add_generation_prompt=True, tokenize=False)
    full_text = tokenizer.apply_chat_template(
        [*case.messages, {"role": "assistant", "content": case.reference}], tokenize=False
    )
    if not full_text.startswith(prompt_text):
        raise Invalid(f"gold case {case.name}: the chat template does not extend the prompt with the answer")
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(full_text, add_special_tokens=False)["input_ids"]
    start = 0  # the tokens both share: the answer starts where they part (a merge across the seam is rare)
    while start < min(len(prompt_ids), len(full_ids)) and prompt_ids[start] == full_ids[start]:
        start += 1
    return full_ids, start


def answer_losses(loaded: Any, cases: Sequence[GoldCase], *, max_tokens: int = MAX_TOKENS) -> list[AnswerLoss]:
    """``gold_nll`` of each case under ``loaded`` (a :class:`trainer.generation.LoadedModel`)."""
    import torch

    out: list[AnswerLoss] = []
    with loaded.lock, torch.inference_mode():
        for case in cases:
            ids, start = _split_ids(loaded.tokenizer, case)
            ids = ids[:max_tokens]
            if start >= len(ids) or start == 0:
                raise Invalid(f"gold case {case.name}: the prompt alone fills {max_tokens} tokens")
            tensor = torch.tensor([ids], device=loaded.model.device)
            logits = loaded.model(input_ids=tensor).logits[0, start - 1 : -1].float()
            targets = tensor[0, start:]
            nll = torch.nn.functional.cross_entropy(logits, targets, reduction="mean")
            out.append(AnswerLoss(case.name, float(nll), len(ids) - start))
    return out


__all__ = ["GOLD_SUITE", "AnswerLoss", "GoldCase", "answer_losses", "gold_case", "read_gold_file", "write_gold_file"]

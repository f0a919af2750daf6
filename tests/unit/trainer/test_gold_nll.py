"""``gold_nll``: the per-token NLL of a reference answer, checked by hand on a model whose answer is known."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from curation.errors import Invalid
from trainer.evaluation.gold import answer_losses, gold_case, read_gold_file


def _case(reference: str):
    return gold_case("c", [{"role": "user", "content": "Why does LDA #$1234 misbehave?"},
                           {"role": "assistant", "content": reference}])  # fmt: skip


def test_a_model_with_zero_weights_scores_every_token_at_log_vocabulary_size(tiny_model: Path):
    """All-zero weights give all-zero logits: a uniform next-token distribution, so each reference token
    costs exactly ln(V) nats, whatever the text - a value known without running the model."""
    import torch

    from trainer.generation import load_model

    loaded = load_model(tiny_model)
    with torch.no_grad():
        for parameter in loaded.model.parameters():
            parameter.zero_()
    vocabulary = loaded.model.config.vocab_size
    short, long = answer_losses(loaded, [_case("8-bit A."), _case("**Bug:** A is 8-bit. **Fix:** REP #$20 first.")])
    assert short.nll == pytest.approx(math.log(vocabulary), abs=1e-4)
    assert long.nll == pytest.approx(math.log(vocabulary), abs=1e-4)
    # The tokens scored are the answer's (and its end-of-turn marker), not the prompt's.
    answer_only = len(loaded.tokenizer("**Bug:** A is 8-bit. **Fix:** REP #$20 first.", add_special_tokens=False)[
        "input_ids"
    ])  # fmt: skip
    assert answer_only < long.tokens <= answer_only + 4 and short.tokens < long.tokens


def test_a_trained_in_answer_costs_less_than_a_shuffled_one(tiny_model: Path):
    """On the real (random) tiny model the metric is a likelihood: the same tokens in an order the model
    has just been fitted to cost less than in another order."""
    import torch

    from trainer.generation import load_model

    loaded = load_model(tiny_model)
    answer = "**Bug:** the accumulator is 8-bit. **Fix:** REP #$20 before the load."
    shuffled = " ".join(reversed(answer.split()))
    case = _case(answer)
    ids = loaded.tokenizer.apply_chat_template(
        [*case.messages, {"role": "assistant", "content": answer}], tokenize=True, return_tensors="pt",
        return_dict=True,
    )["input_ids"]  # fmt: skip
    (before,) = answer_losses(loaded, [case])
    optimizer = torch.optim.AdamW(loaded.model.parameters(), lr=5e-3)
    loaded.model.train()
    for _ in range(30):
        loss = loaded.model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    loaded.model.eval()
    fitted, other = answer_losses(loaded, [case, _case(shuffled)])
    assert fitted.nll < before.nll - 1 and fitted.nll < other.nll - 0.5


def test_gold_files_are_read_strictly(tmp_path: Path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n'
                    '{"messages": [{"role": "user", "content": "q"}]}\n')  # fmt: skip
    with pytest.raises(Invalid, match=r"gold\.jsonl:2: .*last turn must be"):
        read_gold_file(path)
    path.write_text('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n{x\n')
    with pytest.raises(Invalid, match=r"gold\.jsonl:2: expected a chat row"):
        read_gold_file(path)

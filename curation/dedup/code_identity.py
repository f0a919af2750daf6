"""When code decides: two samples whose 65816 code differs are not duplicates, whatever their prose shares.

Debugging dialogues about different bugs read alike - the field's ``ORA #$00``, ``EOR #$00`` and
``AND #$FF`` "does nothing" rows share most of their words, and MinHash pairs them - but a model that
sees only one of them never learns the other bug. So a text-similarity pair between two samples that
both carry code is kept only when their code is the same instruction sequence: mnemonics, size
suffixes and operands compared after dropping comments, labels' layout, case and whitespace. An exact
pair (the same normalised text) never differs in code, and a sample without code is judged by its
text alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

from curation.validators.text import bare_asm_block, code_blocks, trailing_asm
from curation.workspace import Workspace

_SPACES = re.compile(r"\s+")
_LINE_LABEL = re.compile(r"^([A-Za-z_.][\w.]*:|\.[A-Za-z_]\w*|[+-]+)\s*")


def code_fingerprint(messages: list[dict]) -> str | None:
    """A hash of every asm block's instruction sequence, or None when the sample has no code."""
    lines: list[str] = []
    for message in messages:
        content = message.get("content", "")
        blocks = [b for b in code_blocks(content) if b.is_asm]
        if not blocks and "```" not in content and message.get("role") != "system":
            # Unfenced code, as Alpaca rows carry it: after a question's prose, or a whole bare answer.
            bare = trailing_asm(content) if message.get("role") == "user" else bare_asm_block(content)
            blocks = [bare] if bare else []
        for block in blocks:
            for raw in block.code.split("\n"):
                text = raw.split(";", 1)[0].strip()
                text = _LINE_LABEL.sub("", text)
                if text:
                    lines.append(_SPACES.sub(" ", text).upper())
    if not lines:
        return None
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def fingerprints(workspace: Workspace, ids: Iterable[str]) -> dict[str, str | None]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = workspace.samples.messages(wanted)
    return {rid: code_fingerprint(json.loads(messages)) for rid, messages in rows}


def split_by_code(
    workspace: Workspace, pairs: list[tuple[str, str, str, float]]
) -> tuple[list[tuple[str, str, str, float]], int]:
    """The pairs that stand (exact ones, and near ones whose code agrees or is absent on a side), and how
    many near pairs were set aside because both samples carry different code."""
    near = [p for p in pairs if p[2] != "exact"]
    prints = fingerprints(workspace, [x for a, b, _, _ in near for x in (a, b)])
    kept, decided = [], set()
    for pair in pairs:
        a, b, method, _ = pair
        fa, fb = prints.get(a), prints.get(b)
        if method != "exact" and fa is not None and fb is not None and fa != fb:
            decided.add((a, b))
            continue
        kept.append(pair)
    exact_too = {(a, b) for a, b, m, _ in pairs if m == "exact"}
    return kept, len(decided - exact_too)


__all__ = ["code_fingerprint", "fingerprints", "split_by_code"]

"""The text dedup compares: conversation content, not JSON shape.

The same dialogue imported as chat, Alpaca or a teacher dump has the same user and assistant turns;
system prompts are left out (a shared persona prompt would make every Farore sample look alike).
Folding: case and whitespace always (which also folds hex case: ``$0A`` = ``$0a``), ``0x1F`` is
written ``$1f``, markdown emphasis and code fences are dropped; asm comments optionally.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from schemas.sample import Role, SampleRevision

_FENCE_LINE = re.compile(r"^[ \t]*```[^\n]*$", re.M)
_HEX_0X = re.compile(r"\b0x([0-9a-fA-F]+)\b")
_ASM_COMMENT = re.compile(r";[^\n]*")


@dataclass(frozen=True)
class NormalizeOptions:
    strip_asm_comments: bool = False
    include_system: bool = False


_DROP_MARKUP = str.maketrans("", "", "*`")


def normalize_text(text: str, options: NormalizeOptions = NormalizeOptions()) -> str:
    """Plain string operations where they do (this runs on every sample of every dedup run)."""
    if "```" in text:
        text = _FENCE_LINE.sub(" ", text)
    if options.strip_asm_comments and ";" in text:
        text = _ASM_COMMENT.sub(" ", text)
    text = text.lower()
    if "0x" in text:
        text = _HEX_0X.sub(lambda m: "$" + m.group(1), text)
    return " ".join(text.translate(_DROP_MARKUP).split())


def conversation_text(revision: SampleRevision, options: NormalizeOptions = NormalizeOptions()) -> str:
    turns = [m.content for m in revision.messages if options.include_system or m.role != Role.system]
    return normalize_text("\n".join(turns), options)


def conversation_text_from_json(messages_json: str, options: NormalizeOptions = NormalizeOptions()) -> str:
    """Same as ``conversation_text`` straight from the stored JSON (no model objects: 10x faster in bulk)."""
    turns = [m["content"] for m in json.loads(messages_json) if options.include_system or m["role"] != "system"]
    return normalize_text("\n".join(turns), options)

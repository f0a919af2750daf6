"""Sample revisions: the unit Triforge curates.

A revision is immutable and content-addressed. Its id is the SHA-256 of the canonical JSON of the
fields that define what a model would learn from it (kind, category, messages, parent). Provenance
and free-form metadata are deliberately *not* part of the identity: the same dialogue imported from
two files is one revision with two provenance records, and re-importing a file is a no-op.
An expert's correction is a new revision whose ``parent_id`` points at the original.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator


class Role(StrEnum):
    system = "system"
    user = "user"
    assistant = "assistant"


class Kind(StrEnum):
    debug_dialogue = "debug_dialogue"
    quest_implementation = "quest_implementation"
    asm_optimize = "asm_optimize"
    asm_generate = "asm_generate"
    asm_explain = "asm_explain"
    other = "other"


class SourceType(StrEnum):
    template = "template"
    teacher = "teacher"
    bootstrap = "bootstrap"
    community = "community"
    import_ = "import"
    expert = "expert"  # a reviewer's correction of another revision (its parent keeps the original source)


SampleStatus = Literal["draft", "proposed", "in_review", "approved", "rejected", "superseded"]
SAMPLE_STATUSES: tuple[str, ...] = ("draft", "proposed", "in_review", "approved", "rejected", "superseded")


def canonical_json(value: Any) -> str:
    """Serialise deterministically: sorted keys, no insignificant whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def conversation_problem(roles: list[Role] | list[str]) -> str | None:
    """What is wrong with a conversation's sequence of roles, if anything (shared with the API)."""
    roles = [Role(r) for r in roles]
    if Role.user not in roles:
        return "a sample needs at least one user turn"
    if roles[-1] != Role.assistant:
        return "a sample must end with an assistant turn"
    if Role.system in roles[1:]:
        return "a system turn may only come first"
    return None


class Message(BaseModel):
    """One chat turn. Content must be a real string: a number or null is a malformed sample."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: StrictStr = Field(min_length=1)


class Provenance(BaseModel):
    """Where a revision came from. One revision may have several (same content, several sources)."""

    model_config = ConfigDict(frozen=True)

    source_type: SourceType
    source_name: str
    source_file: str | None = None
    source_line: int | None = None
    original: dict[str, Any] = Field(default_factory=dict, description="The row as it arrived.")


class SampleRevision(BaseModel):
    """A content-addressed sample. ``id`` is derived, never chosen."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    category: str | None = None
    messages: tuple[Message, ...]
    metadata: dict[str, Any] = Field(default_factory=dict)
    parent_id: str | None = None
    provenance: Provenance
    created_at: datetime | None = None

    @field_validator("messages")
    @classmethod
    def _conversation_shape(cls, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        problem = conversation_problem([m.role for m in messages])
        if problem:
            raise ValueError(problem)
        return messages

    @field_validator("category")
    @classmethod
    def _normalise_category(cls, category: str | None) -> str | None:
        if category is None:
            return None
        category = category.strip()
        return category or None

    @model_validator(mode="after")
    def _parent_differs(self) -> SampleRevision:
        if self.parent_id is not None and self.parent_id == self.id:
            raise ValueError("a correction must change the content of its parent")
        return self

    def identity(self) -> dict[str, Any]:
        """The fields hashed into the id (see module docstring for why metadata is excluded)."""
        return {
            "kind": self.kind.value,
            "category": self.category,
            "messages": [{"role": m.role.value, "content": m.content} for m in self.messages],
            "parent_id": self.parent_id,
        }

    @cached_property
    def id(self) -> str:
        """Computed once per object: the model is frozen, so the hash cannot go stale."""
        return sha256_hex(canonical_json(self.identity()))

    @property
    def system(self) -> str | None:
        return self.messages[0].content if self.messages[0].role == Role.system else None

    @property
    def prompt(self) -> str:
        """The last user turn: what a model is asked."""
        return next(m.content for m in reversed(self.messages) if m.role == Role.user)

    @property
    def answer(self) -> str:
        """The final assistant turn: what a model learns to say."""
        return self.messages[-1].content


def prompt_and_answer(messages: list[dict[str, str]]) -> tuple[str, str]:
    """The turns before the last assistant answer (as markdown), and that answer."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))
    prompt = "\n\n".join(f"**{m['role']}:** {m['content']}" for m in messages[:last])
    answer = messages[last]["content"] if last < len(messages) else ""
    return prompt, answer

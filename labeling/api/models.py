"""Request and response bodies of the HTTP API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema

from labeling.api.patterns import CATEGORY
from labeling.api.settings import ServiceSettings
from labeling.api.times import UtcDateTime
from schemas.sample import Kind, conversation_problem
from schemas.validation import ValidationResult

SubmissionStatus = Literal["validated", "invalid", "duplicate", "in_review", "approved", "rejected"]

_EXAMPLE = {
    "kind": "debug_dialogue",
    "category": "stack_imbalance",
    "prompt": "```asm\nPHA\nJSR Sub\nRTS\n```\nWhy does this crash?",
    "answer": "**Bug: stack imbalance**\n\n...",
}


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: StrictStr = Field(min_length=1)


class SubmissionIn(BaseModel):
    """A prompt and answer (or a quest and its implementation), or a whole chat.

    Its OpenAPI schema is written out exactly (see ``__get_pydantic_json_schema__``): the two
    shapes as alternatives, the role order a chat needs, and the service's limits on turns and
    characters - so a body the schema admits is one the service takes. ``for_settings`` makes the
    subclass that carries a service's limits; the handlers enforce the same limits
    (``check_turn_limits``) and report the field's path.
    """

    model_config = ConfigDict(extra="forbid")
    max_turns: ClassVar[int] = ServiceSettings.max_turns
    max_chars: ClassVar[int] = ServiceSettings.max_chars_per_turn

    kind: Kind = Kind.debug_dialogue
    category: str | None = Field(default=None, max_length=64, pattern=CATEGORY)
    system: StrictStr | None = Field(default=None, min_length=1)
    prompt: StrictStr | None = Field(default=None, min_length=1)
    answer: StrictStr | None = Field(default=None, min_length=1)
    messages: list[Turn] | None = Field(default=None, min_length=2)

    @classmethod
    def for_settings(cls, settings: ServiceSettings) -> type[SubmissionIn]:
        namespace = {
            "__module__": __name__,
            "__qualname__": "SubmissionIn",
            "__doc__": cls.__doc__,
            "__annotations__": {"max_turns": ClassVar[int], "max_chars": ClassVar[int]},
            "max_turns": settings.max_turns,
            "max_chars": settings.max_chars_per_turn,
        }
        return type("SubmissionIn", (cls,), namespace)

    @field_validator("category", "system", "prompt", "answer", "messages", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave the field out rather than sending null")
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> SubmissionIn:
        pair = self.prompt is not None or self.answer is not None
        if pair and self.messages is not None:
            raise ValueError("send either prompt and answer, or messages, not both")
        if not pair and self.messages is None:
            raise ValueError("send prompt and answer, or messages")
        if pair and (self.prompt is None or self.answer is None):
            raise ValueError("prompt and answer go together")
        if self.messages is not None and self.system is not None:
            raise ValueError("system goes with prompt and answer; in messages, make it the first turn")
        if self.messages is not None:
            problem = conversation_problem([t.role for t in self.messages])
            if problem:
                raise ValueError(f"messages: {problem}")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        text = {"type": "string", "minLength": 1, "maxLength": cls.max_chars}
        common = {
            "kind": {"type": "string", "enum": [k.value for k in Kind], "default": Kind.debug_dialogue.value},
            "category": {"type": "string", "maxLength": 64, "pattern": CATEGORY, "description": "e.g. stack_imbalance"},
        }

        def turn(roles: list[str]) -> dict[str, Any]:
            return {
                "type": "object",
                "additionalProperties": False,
                "required": ["role", "content"],
                "properties": {"role": {"type": "string", "enum": roles}, "content": text},
            }

        def role_is(role: str) -> dict[str, Any]:
            return {"required": ["role"], "properties": {"role": {"const": role}}}

        messages = {
            "type": "array",
            "description": "An optional system turn first, then user and assistant turns: at least one user "
            "turn, and the last turn the assistant's.",
            "minItems": 2,
            "maxItems": cls.max_turns,
            "prefixItems": [turn(["system", "user", "assistant"])],
            "items": turn(["user", "assistant"]),
            "contains": role_is("user"),
            # The last turn is the assistant's: one alternative per length the limit allows.
            "anyOf": [
                {"minItems": n, "maxItems": n, "prefixItems": [True] * (n - 1) + [role_is("assistant")]}
                for n in range(2, cls.max_turns + 1)
            ],
        }
        pair = {
            "title": "Prompt and answer",
            "type": "object",
            "additionalProperties": False,
            "required": ["prompt", "answer"],
            "properties": {**common, "system": text, "prompt": text, "answer": text},
        }
        chat = {
            "title": "Chat",
            "type": "object",
            "additionalProperties": False,
            "required": ["messages"],
            "properties": {**common, "messages": messages},
        }
        return {"title": "SubmissionIn", "description": cls.__doc__.split("\n")[0], "anyOf": [pair, chat],
                "examples": [_EXAMPLE]}  # fmt: skip

    def turns(self) -> list[Turn]:
        if self.messages is not None:
            return self.messages
        turns = [Turn(role="user", content=self.prompt or ""), Turn(role="assistant", content=self.answer or "")]
        return ([Turn(role="system", content=self.system)] if self.system else []) + turns


class DuplicateOf(BaseModel):
    id: str
    similarity: float


class SubmissionOut(BaseModel):
    id: str
    sample_id: str
    status: SubmissionStatus
    valid: bool
    duplicate_of: DuplicateOf | None = None
    validation: list[ValidationResult]
    created_at: UtcDateTime


class BatchLine(BaseModel):
    line: int
    submission: SubmissionOut | None = None
    errors: list[dict[str, Any]] | None = None


class BatchOut(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchLine]


class ContributorOut(BaseModel):
    name: str
    role: str
    submissions: int
    valid: int
    duplicates: int
    approved: int
    rejected: int
    acceptance_rate: float | None
    recent: list[SubmissionOut]

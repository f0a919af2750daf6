"""Request and response bodies of the HTTP API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from schemas.sample import Kind, conversation_problem
from schemas.validation import ValidationResult

SubmissionStatus = Literal["validated", "invalid", "duplicate", "in_review", "approved", "rejected"]


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: StrictStr = Field(min_length=1)


class SubmissionIn(BaseModel):
    """A prompt and answer (or a quest and its implementation), or a whole chat."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "debug_dialogue",
                    "category": "stack_imbalance",
                    "prompt": "```asm\nPHA\nJSR Sub\nRTS\n```\nWhy does this crash?",
                    "answer": "**Bug: stack imbalance**\n\n...",
                }
            ]
        },
    )

    kind: Kind = Kind.debug_dialogue
    category: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9_]+$")
    system: StrictStr | None = Field(default=None, min_length=1)
    prompt: StrictStr | None = Field(default=None, min_length=1)
    answer: StrictStr | None = Field(default=None, min_length=1)
    messages: list[Turn] | None = Field(default=None, min_length=2)

    @model_validator(mode="after")
    def _one_shape(self) -> SubmissionIn:
        pair = self.prompt is not None or self.answer is not None
        if pair and self.messages is not None:
            raise ValueError("send either prompt and answer, or messages, not both")
        if not pair and self.messages is None:
            raise ValueError("send prompt and answer, or messages")
        if pair and (self.prompt is None or self.answer is None):
            raise ValueError("prompt and answer go together")
        if self.messages is not None:
            problem = conversation_problem([t.role for t in self.messages])
            if problem:
                raise ValueError(f"messages: {problem}")
        return self

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
    created_at: datetime


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


class SnapshotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    where: str | None = Field(default=None, max_length=2000)
    parent: str | None = None


class EvalCaseIn(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    prompt: str = Field(min_length=1, max_length=20_000)


class ContaminationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    snapshot: str
    evals: list[EvalCaseIn] = Field(min_length=1, max_length=5000)
    threshold: float = Field(default=0.6, gt=0, le=1)

"""What a validator says about a revision. Experts and contributors read these, so every issue
carries a stable code, a sentence a person can act on, and where in the sample it points."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Severity = Literal["error", "warning", "info"]


class IssueLocation(BaseModel):
    """Where an issue is: the chat turn (0-based index into messages), the line inside that turn
    (1-based), and for code, which fenced block of the turn (0-based)."""

    turn: int | None = None
    line: int | None = None
    block: int | None = None
    excerpt: str | None = None

    def describe(self) -> str:
        parts = []
        if self.turn is not None:
            parts.append(f"turn {self.turn}")
        if self.block is not None:
            parts.append(f"code block {self.block + 1}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ", ".join(parts)


class ValidationIssue(BaseModel):
    code: str
    message: str
    severity: Severity = "error"
    location: IssueLocation | None = None


class ValidationResult(BaseModel):
    validator: str
    version: str
    passed: bool
    score: float = Field(ge=0.0, le=1.0)
    issues: list[ValidationIssue] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def errors(self) -> list[ValidationIssue]:
        return [i for i in self.issues if i.severity == "error"]

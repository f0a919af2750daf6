"""The row formats found in the field, and how each becomes a canonical chat revision.

Detection is per row, by the keys a row carries, so one file may even mix formats. Each format
validates its row with a strict pydantic model first: a number where text belongs, or a missing
``output``, is reported with the field's path instead of becoming a silent empty string.
Every original field that is not part of the conversation is kept in the revision's metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError

from curation.importers.labels import kind_from_labels
from schemas.sample import Kind, Message, Provenance, Role, SampleRevision, SourceType


class UnrecognisedRow(ValueError):
    """A row whose shape matches none of the known formats, or a known shape with bad fields."""


@dataclass(frozen=True)
class ImportContext:
    """What the user told ``triforge import`` about the file."""

    source_file: str
    source_name: str | None = None
    kind: Kind | None = None
    source_type: SourceType | None = None


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow")

    def extras(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ChatRow(_Row):
    messages: list[Message] = Field(min_length=2)
    kind: StrictStr | None = None
    category: StrictStr | None = None


class _ShareGPTTurn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: StrictStr = Field(alias="from")
    value: StrictStr = Field(min_length=1)


class ShareGPTRow(_Row):
    conversations: list[_ShareGPTTurn] = Field(min_length=2)
    category: StrictStr | None = None


class AlpacaRow(_Row):
    instruction: StrictStr = Field(min_length=1)
    input: StrictStr = ""
    output: StrictStr = Field(min_length=1)
    system: StrictStr | None = None
    category: StrictStr | None = None
    intent: StrictStr | None = None


class TeacherRow(_Row):
    prompt: StrictStr = Field(min_length=1)
    response: StrictStr = Field(min_length=1)
    system_prompt: StrictStr | None = None
    provider: StrictStr | None = None
    model: StrictStr | None = None
    domain: StrictStr | None = None
    category: StrictStr | None = None
    quality_score: StrictFloat | StrictInt | None = None


class BenchmarkMeta(BaseModel):
    model_config = ConfigDict(extra="allow")
    issue: StrictStr | None = None
    explanation: StrictStr | None = None
    symptom: StrictStr | None = None


class BenchmarkRow(_Row):
    id: StrictStr = Field(min_length=1)
    category: StrictStr = Field(min_length=1)
    code: StrictStr = Field(min_length=1)
    expected_output: StrictStr = Field(min_length=1)
    difficulty: StrictInt | None = None
    metadata: BenchmarkMeta = Field(default_factory=BenchmarkMeta)


def _format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "row"
        if err["type"] == "missing":
            parts.append(f"missing field '{loc}'")
        else:
            parts.append(f"field '{loc}': {err['msg']}")
    return "; ".join(parts)


def _kind_from(ctx: ImportContext, *candidates: Kind | None) -> Kind:
    if ctx.kind is not None:
        return ctx.kind
    return next((k for k in candidates if k is not None), Kind.other)


def _explicit_kind(value: str | None) -> Kind | None:
    return Kind(value) if value in Kind.__members__ else None


def _looks_like_debugging(answer: str) -> Kind | None:
    return Kind.debug_dialogue if answer.lstrip().startswith("**Bug") else None


def _labelled_kind(extras: dict[str, Any]) -> Kind | None:
    """The kind the row's own ``intent``/``domain`` columns name (see ``labels.py``)."""
    return kind_from_labels(extras.get("intent"), extras.get("domain"))


def _teacher_name(extras: dict[str, Any]) -> str | None:
    """A ``teacher_model`` column names the model that wrote the answer (empty in many field dumps)."""
    name = extras.get("teacher_model")
    return name.strip() if isinstance(name, str) and name.strip() else None


def _provenance(
    ctx: ImportContext, default: SourceType, line: int, original: dict[str, Any], name: str | None = None
) -> Provenance:
    """``--source`` wins; otherwise the row's own origin (e.g. a teacher model), else the file name."""
    return Provenance(
        source_type=ctx.source_type or default,
        source_name=ctx.source_name or name or ctx.source_file.rsplit("/", 1)[-1],
        source_file=ctx.source_file,
        source_line=line,
        original=original,
    )


def _teacher_or_import(ctx: ImportContext, line: int, original: dict[str, Any], teacher: str | None) -> Provenance:
    """A row that names the model that wrote it is a teacher's proposal; any other row is an import."""
    if teacher is None:
        return _provenance(ctx, SourceType.import_, line, original)
    return _provenance(ctx, SourceType.teacher, line, original, teacher)


def _chat(row: ChatRow, ctx: ImportContext, line: int, original: dict[str, Any]) -> SampleRevision:
    answer = row.messages[-1].content
    return SampleRevision(
        kind=_kind_from(ctx, _explicit_kind(row.kind), _labelled_kind(row.extras()), _looks_like_debugging(answer)),
        category=row.category,
        messages=tuple(row.messages),
        metadata={"format": "chat", **row.extras()},
        provenance=_teacher_or_import(ctx, line, original, _teacher_name(row.extras())),
    )


_SHAREGPT_ROLES = {
    "system": Role.system,
    "human": Role.user,
    "user": Role.user,
    "gpt": Role.assistant,
    "assistant": Role.assistant,
}


def _sharegpt(row: ShareGPTRow, ctx: ImportContext, line: int, original: dict[str, Any]) -> SampleRevision:
    messages = []
    for i, turn in enumerate(row.conversations):
        role = _SHAREGPT_ROLES.get(turn.from_)
        if role is None:
            raise UnrecognisedRow(f"field 'conversations.{i}.from': unknown speaker {turn.from_!r}")
        messages.append(Message(role=role, content=turn.value))
    return SampleRevision(
        kind=_kind_from(ctx, _labelled_kind(row.extras()), _looks_like_debugging(messages[-1].content)),
        category=row.category,
        messages=tuple(messages),
        metadata={"format": "sharegpt", **row.extras()},
        provenance=_teacher_or_import(ctx, line, original, _teacher_name(row.extras())),
    )


def _alpaca(row: AlpacaRow, ctx: ImportContext, line: int, original: dict[str, Any]) -> SampleRevision:
    user = row.instruction if not row.input.strip() else f"{row.instruction}\n\n{row.input}"
    messages = [Message(role=Role.user, content=user), Message(role=Role.assistant, content=row.output)]
    if row.system:
        messages.insert(0, Message(role=Role.system, content=row.system))
    extras = row.extras()
    return SampleRevision(
        kind=_kind_from(ctx, kind_from_labels(row.intent, extras.get("domain")), _looks_like_debugging(row.output)),
        category=row.category,
        messages=tuple(messages),
        # Every other column (domain, teacher_model, quality_score, thinking, ...) is metadata, as it came.
        metadata={"format": "alpaca", **({"intent": row.intent} if row.intent else {}), **extras},
        provenance=_teacher_or_import(ctx, line, original, _teacher_name(extras)),
    )


def _teacher(row: TeacherRow, ctx: ImportContext, line: int, original: dict[str, Any]) -> SampleRevision:
    messages = [
        Message(role=Role.user, content=row.prompt),
        Message(role=Role.assistant, content=row.response),
    ]
    if row.system_prompt:
        messages.insert(0, Message(role=Role.system, content=row.system_prompt))
    extras = row.extras()
    if "id" in extras:
        extras["original_id"] = extras.pop("id")
    teacher = "/".join(p for p in (row.provider, row.model or _teacher_name(extras)) if p)
    metadata = {
        "format": "teacher",
        "provider": row.provider,
        "model": row.model,
        "domain": row.domain,
        "quality_score": row.quality_score,
        **extras,
    }
    return SampleRevision(
        kind=_kind_from(ctx, kind_from_labels(extras.get("intent"), row.domain), _looks_like_debugging(row.response)),
        category=row.category,
        messages=tuple(messages),
        metadata={k: v for k, v in metadata.items() if v is not None},
        provenance=_provenance(ctx, SourceType.teacher, line, original, teacher or None),
    )


def benchmark_prompt(row: BenchmarkRow) -> str:
    """The user turn a benchmark row becomes; eval suites read benchmark files with the same words."""
    symptom = row.metadata.symptom or row.metadata.issue or "This code does not behave as intended."
    return f"```asm\n{row.code}\n```\n\n{symptom.rstrip('.')}. What's wrong?"


def _benchmark(row: BenchmarkRow, ctx: ImportContext, line: int, original: dict[str, Any]) -> SampleRevision:
    """Benchmark rows carry a bug and its fix but no dialogue: draft one, flagged for an answer check."""
    meta = row.metadata
    user = benchmark_prompt(row)
    bug = meta.issue or row.category.replace("_", " ")
    answer = f"**Bug: {bug}**\n\n"
    if meta.explanation:
        answer += f"{meta.explanation}\n\n"
    answer += f"**Fix:**\n```asm\n{row.expected_output}\n```"
    return SampleRevision(
        kind=_kind_from(ctx, Kind.debug_dialogue),
        category=row.category,
        messages=(Message(role=Role.user, content=user), Message(role=Role.assistant, content=answer)),
        metadata={
            "format": "benchmark",
            "benchmark_id": row.id,
            "difficulty": row.difficulty,
            "needs_answer_check": True,
            **row.extras(),
        },
        provenance=_provenance(ctx, SourceType.import_, line, original),
    )


@dataclass(frozen=True)
class RowFormat:
    name: str
    keys: frozenset[str]
    model: type[_Row]
    convert: Callable[[Any, ImportContext, int, dict[str, Any]], SampleRevision]
    initial_status: str = "proposed"

    def matches(self, row: dict[str, Any]) -> bool:
        return self.keys <= row.keys()

    def to_revision(self, row: dict[str, Any], ctx: ImportContext, line: int) -> SampleRevision:
        try:
            parsed = self.model.model_validate(row)
            return self.convert(parsed, ctx, line, row)
        except ValidationError as exc:
            raise UnrecognisedRow(f"{self.name} row: {_format_validation_error(exc)}") from None


# Order matters: the first format whose marker keys a row has claims it.
FORMATS: tuple[RowFormat, ...] = (
    RowFormat("chat", frozenset({"messages"}), ChatRow, _chat),
    RowFormat("sharegpt", frozenset({"conversations"}), ShareGPTRow, _sharegpt),
    RowFormat("benchmark", frozenset({"code", "expected_output"}), BenchmarkRow, _benchmark, "draft"),
    RowFormat("alpaca", frozenset({"instruction"}), AlpacaRow, _alpaca),
    RowFormat("teacher", frozenset({"prompt", "response"}), TeacherRow, _teacher),
)

_EVAL_MARKERS = ({"query", "expected_contains"}, {"prompt", "expected_keywords"}, {"suites", "scoring"})


def detect_format(row: dict[str, Any]) -> RowFormat:
    for fmt in FORMATS:
        if fmt.matches(row):
            return fmt
    if any(marker <= row.keys() for marker in _EVAL_MARKERS):
        raise UnrecognisedRow(
            "this is an eval case, not a training sample; eval suites are used for contamination checks "
            "and `triforge eval`, never imported"
        )
    keys = ", ".join(sorted(row)) or "none"
    raise UnrecognisedRow(
        f"unrecognised row format (keys: {keys}); expected chat 'messages', sharegpt 'conversations', "
        "alpaca 'instruction/input/output', teacher 'prompt/response' or benchmark 'id/category/code/expected_output'"
    )

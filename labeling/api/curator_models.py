"""Bodies of the curator and admin resources: samples, decisions, snapshots, reports and keys.

Response models are what the routes return (``response_model``), so the OpenAPI document states
every field a client reads; their times are ``UtcDateTime`` (RFC 3339 with a zone). Request
models carry the patterns and limits the handlers enforce.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema

from labeling.api.patterns import CATEGORY, NAME, SAMPLE_ID, SNAPSHOT_REF, WHERE, WHERE_MAX_LENGTH
from labeling.api.settings import ServiceSettings
from labeling.api.times import UtcDateTime
from schemas.sample import Message
from schemas.validation import ValidationResult

# The same lists as curation.resources.keys.ROLES and schemas.sample.SAMPLE_STATUSES (tests hold them equal).
Role = Literal["contributor", "curator", "admin"]
SampleStatus = Literal["draft", "proposed", "in_review", "approved", "rejected", "superseded"]

Where = Field(
    default=None,
    max_length=WHERE_MAX_LENGTH,
    pattern=WHERE,
    description='A filter, e.g. "status = approved and kind = debug_dialogue"; comparisons joined by and/or, '
    "each optionally negated with not (no parentheses); empty or `all` for everything",
)


# --- samples ---------------------------------------------------------------------------------------


class SampleSummary(BaseModel):
    id: str
    kind: str
    category: str | None
    status: str
    source_type: str
    source_name: str
    created_at: UtcDateTime
    answer: str | None = Field(description="The last turn, the answer")


class SamplePage(BaseModel):
    total: int
    samples: list[SampleSummary]


class ProvenanceOut(BaseModel):
    source_type: str
    source_name: str
    source_file: str | None
    source_line: int | None
    recorded_at: UtcDateTime
    original: Any = Field(description="The row as it arrived")


class StatusEventOut(BaseModel):
    status: str
    actor: str
    reason: str | None
    recorded_at: UtcDateTime


class SampleOut(BaseModel):
    id: str
    status: str
    kind: str
    category: str | None
    parent_id: str | None
    messages: list[Message]
    metadata: dict[str, Any]
    provenance: list[ProvenanceOut]
    history: list[StatusEventOut]
    snapshots: list[str]
    children: list[str]
    validations: list[ValidationResult]


class StatusChangeIn(BaseModel):
    """A status decision on one or more samples, recorded as events (appended, never overwritten)."""

    model_config = ConfigDict(extra="forbid")
    samples: list[Annotated[str, Field(pattern=SAMPLE_ID)]] = Field(
        min_length=1, max_length=1000, description="Sample ids or unique prefixes (6+ characters)"
    )
    status: SampleStatus
    reason: StrictStr | None = Field(default=None, min_length=1, max_length=1000)
    actor: str | None = Field(
        default=None,
        max_length=100,
        pattern=NAME,
        description="Who decided, when not the key's owner (admin keys only): the CLI's --by",
    )


class StatusChangeOut(BaseModel):
    status: SampleStatus
    actor: str
    samples: list[str] = Field(description="The full ids changed")


class CorrectionIn(BaseModel):
    """An expert's correction: a new revision linked to the sample, which it supersedes."""

    model_config = ConfigDict(extra="forbid")
    max_chars: ClassVar[int] = ServiceSettings.max_chars_per_turn

    answer: StrictStr | None = Field(default=None, min_length=1, description="The corrected final answer")
    category: str | None = Field(default=None, max_length=64, pattern=CATEGORY, description="The corrected tag")
    actor: str | None = Field(default=None, max_length=100, pattern=NAME, description="The expert (admin keys only)")

    @classmethod
    def for_settings(cls, settings: ServiceSettings) -> type[CorrectionIn]:
        namespace = {
            "__module__": __name__,
            "__qualname__": "CorrectionIn",
            "__doc__": cls.__doc__,
            "__annotations__": {"max_chars": ClassVar[int]},
            "max_chars": settings.max_chars_per_turn,
        }
        return type("CorrectionIn", (cls,), namespace)

    @field_validator("answer", "category", "actor", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # The document states each as a string that may be left out; an explicit null is neither.
        if value is None:
            raise ValueError("null is not a value here; leave the field out")
        return value

    @model_validator(mode="after")
    def _changes_something(self) -> CorrectionIn:
        if self.answer is None and self.category is None:
            raise ValueError("give a corrected answer or category")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core_schema))
        schema["properties"]["answer"] = {"type": "string", "minLength": 1, "maxLength": cls.max_chars,
                                          "description": "The corrected final answer"}  # fmt: skip
        schema["properties"]["category"] = {"type": "string", "maxLength": 64, "pattern": CATEGORY}
        schema["properties"]["actor"] = {"type": "string", "maxLength": 100, "pattern": NAME}
        schema["anyOf"] = [{"required": ["answer"]}, {"required": ["category"]}]
        return schema


class CorrectionOut(BaseModel):
    id: str = Field(description="The new revision")
    parent_id: str
    status: str


# --- snapshots -------------------------------------------------------------------------------------


class SnapshotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100, pattern=SNAPSHOT_REF)
    where: str | None = Where
    parent: str | None = Field(default=None, max_length=100, pattern=SNAPSHOT_REF, description="Name or id")


class SnapshotOut(BaseModel):
    id: str
    name: str
    where: str
    parent_id: str | None
    member_count: int
    content_hash: str
    counts: dict[str, dict[str, int]]
    created_at: UtcDateTime


class SnapshotDiffOut(BaseModel):
    a: str
    b: str
    only_in_a: list[str]
    only_in_b: list[str]
    in_both: int


# --- reports ---------------------------------------------------------------------------------------


class DedupRunOut(BaseModel):
    id: str
    methods: list[str]
    where: str | None
    samples: int
    clusters: int
    duplicates: int
    created_at: UtcDateTime


class EvalCaseIn(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    # At least one non-space character: a blank prompt cannot be compared with anything.
    prompt: str = Field(min_length=1, max_length=20_000, pattern=r"\S")


class ContaminationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    snapshot: str = Field(max_length=100, pattern=SNAPSHOT_REF)
    evals: list[EvalCaseIn] = Field(
        min_length=1,
        max_length=5000,
        description="The eval cases; the whole body is also bound by the service's size limit (413 past it)",
    )
    threshold: float = Field(default=0.6, gt=0, le=1)


class LeakOut(BaseModel):
    eval_file: str
    eval_id: str
    eval_prompt: str
    revision_id: str
    kind: Literal["exact", "near"]
    containment: float
    jaccard: float


class ContaminationOut(BaseModel):
    id: str
    snapshot_id: str
    eval_files: list[str]
    evals: int
    threshold: float
    leaked_evals: int
    leaks: list[LeakOut]


# --- keys ------------------------------------------------------------------------------------------


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100, pattern=NAME, description="Who the key belongs to (recorded as provenance)")
    role: Role


class KeyOut(BaseModel):
    id: str
    name: str
    role: Role
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The secret, shown this once: only its SHA-256 is stored")

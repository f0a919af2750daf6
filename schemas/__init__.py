"""Pydantic models shared by every Triforge part (store, API, generators, trainer).

They are the contract: the store persists them, the HTTP service accepts and returns them, and
exports are rendered from them. Keep them free of I/O.
"""

from schemas.imports import FileImportResult, ImportReport, MalformedRow
from schemas.sample import (
    SAMPLE_STATUSES,
    Kind,
    Message,
    Provenance,
    Role,
    SampleRevision,
    SampleStatus,
    SourceType,
    canonical_json,
    sha256_hex,
)
from schemas.snapshot import Snapshot, SnapshotDiff

__all__ = [
    "SAMPLE_STATUSES",
    "FileImportResult",
    "ImportReport",
    "Kind",
    "MalformedRow",
    "Message",
    "Provenance",
    "Role",
    "SampleRevision",
    "SampleStatus",
    "Snapshot",
    "SnapshotDiff",
    "SourceType",
    "canonical_json",
    "sha256_hex",
]

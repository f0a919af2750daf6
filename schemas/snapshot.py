"""Snapshots: immutable, hashed sets of revisions that exports and training runs consume."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.sample import canonical_json, sha256_hex


def snapshot_id_for(member_ids: list[str] | tuple[str, ...]) -> str:
    """A snapshot's id is the hash of its sorted member ids: same members, same id, anywhere."""
    return sha256_hex(canonical_json(sorted(set(member_ids))))


class Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    where: str = Field(description="The filter that chose the members, as the user wrote it.")
    parent_id: str | None = None
    member_count: int
    content_hash: str = Field(description="Hash over the members' canonical content, checked by verify.")
    counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    created_at: datetime


class SnapshotDiff(BaseModel):
    a: str
    b: str
    only_in_a: list[str]
    only_in_b: list[str]
    in_both: int

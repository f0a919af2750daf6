"""One clock for every timestamp the store writes: UTC, without tzinfo (DuckDB's TIMESTAMP).

Kept in one place so a test can reason about times and every table agrees on the convention.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, in UTC, as a naive datetime - the form every TIMESTAMP column of the store holds."""
    return datetime.now(UTC).replace(tzinfo=None)


__all__ = ["utc_now"]

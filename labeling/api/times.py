"""Times at the API boundary: the store keeps naive UTC timestamps; the API says they are UTC.

RFC 3339 (and so OpenAPI's ``date-time``) needs a zone, and a client in another zone must not
guess. Every time in a response model is ``UtcDateTime``: a naive value is read as UTC, an aware
one converted, and pydantic writes it with ``Z``. The store itself is left as it is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(value: datetime) -> datetime:
    """The same instant, timezone-aware in UTC (naive values are the store's UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]

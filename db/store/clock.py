"""UTC timestamps: written aware, read back aware (SQLite drops the zone on the way in)."""
from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime, whatever the backend returned."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

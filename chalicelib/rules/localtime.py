"""Calendar arithmetic in the project's local time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def add_local_days(instant: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The same local wall-clock time ``days`` calendar days later (R-PROT-2)."""
    local = instant.astimezone(zone)
    shifted = datetime.combine(local.date() + timedelta(days=days), local.timetz())
    return shifted.replace(tzinfo=zone).astimezone(UTC)


def at_local_time(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)

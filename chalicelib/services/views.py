"""What registrants read: the JSON of a registration and of an event."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.rules.records import Event, Registration


def local_iso(instant: datetime | None, zone: ZoneInfo) -> str | None:
    return instant.astimezone(zone).isoformat(timespec="seconds") if instant else None


def registration_view(r: Registration, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    claim = r.claim
    protection = None
    if claim.protection is not None:
        protection = {
            "ordinal": claim.ordinal,
            "starts_at": local_iso(claim.protection.starts_at, zone),
            "ends_at": local_iso(claim.protection.ends_at, zone),
        }
    window = None
    if claim.visit_window is not None and claim.protection is None:
        window = {
            "opens_at": local_iso(claim.visit_window.starts_at, zone),
            "closes_at": local_iso(claim.visit_window.ends_at, zone),
        }
    return {
        "registration_id": r.registration_id,
        "status": claim.status(now).value,
        "customer": {"name": r.customer_name, "phone_masked": r.phone_masked},
        "protection": protection,
        "visit_window": window,
        "visit_at": local_iso(r.visit_at, zone),
        "note": r.note,
        "created_at": local_iso(claim.created_at, zone),
    }


def event_view(event: Event, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": event.event_id,
        "type": event.type,
        "occurred_at": local_iso(event.occurred_at, zone),
        "registration_id": event.registration_id,
    }

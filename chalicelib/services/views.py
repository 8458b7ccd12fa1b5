"""What callers read: the JSON of a registration, an event and a consultant's
customer (a visit's: services/floor/views.py, so that the floor's rules load
with the floor, not with every route)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.rules.claims import Claim, Customer, Tenure
from chalicelib.rules.deals import credited_recommendation
from chalicelib.rules.phone import mask_phone
from chalicelib.rules.policy import Policy
from chalicelib.rules.reclaim import reclaim_due
from chalicelib.rules.records import Event, Registration


def local_iso(instant: datetime | None, zone: ZoneInfo) -> str | None:
    return instant.astimezone(zone).isoformat(timespec="seconds") if instant else None


def protection_view(claim: Claim, zone: ZoneInfo) -> dict[str, Any] | None:
    if claim.protection is None:
        return None
    return {
        "ordinal": claim.ordinal,
        "starts_at": local_iso(claim.protection.starts_at, zone),
        "ends_at": local_iso(claim.protection.ends_at, zone),
    }


def registration_view(r: Registration, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    claim = r.claim
    protection = protection_view(claim, zone)
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


def owned_customer_view(
    key: str, customer: Customer, tenure: Tenure, now: datetime, policy: Policy
) -> dict[str, Any]:
    """A customer as the consultant whose ``tenure`` is open sees them
    (R-RECLAIM-1): the phone masked, the recommender's protection judged at
    ``now`` (R-PROT-2), and the reclaim run that takes them if nothing
    happens before it."""
    zone = policy.zone
    protection = credited_recommendation(customer, now)
    if customer.deal is not None:
        state = "converted"
    else:
        state = "protected" if protection is not None else "unprotected"
    return {
        "customer_id": key,
        "phone_masked": mask_phone(customer.phone) if customer.phone else None,
        "since": local_iso(tenure.since, zone),
        "how": tenure.how,
        "last_visit_at": local_iso(customer.last_visit_at, zone),
        "protection": protection_view(protection, zone) if protection else None,
        "state": state,
        "reclaim_at": local_iso(reclaim_due(customer, policy), zone),
    }

"""What the floor's callers read: the JSON of a visit and its decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.rules.floor import Decision, Visit, form_due_at, form_state
from chalicelib.services.views import local_iso


def visit_view(visit: Visit, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """A visit as the floor staff see it: the phone masked, times local."""
    customer = None
    if visit.customer_key is not None:
        customer = {"name": visit.customer_name, "phone_masked": visit.phone_masked}
    return {
        "id": visit.visit_id,
        "group_id": visit.group_id,
        "date": visit.day.isoformat(),
        "arrived_at": local_iso(visit.arrived_at, zone),
        "departed_at": local_iso(visit.departed_at, zone),
        "party_size": visit.party_size,
        "greeted": visit.greeted,
        "logged_by": visit.logged_by,
        "led_in_by": visit.led_in_by,
        "accompanied_by": visit.accompanied_by,
        "customer": customer,
        "signed_in_at": local_iso(visit.signed_in_at, zone),
        "signed_in_by": visit.signed_in_by,
        "consultant_id": visit.consultant_id,
        "decision": _decision(visit.decision, zone) if visit.decision else None,
        "decisions": [_decision(d, zone) for d in visit.decisions],
        "form": (
            {
                "filed_by": visit.form.filed_by,
                "filed_at": local_iso(visit.form.filed_at, zone),
                "note": visit.form.note,
            }
            if visit.form
            else None
        ),
        "exemption": (
            {
                "kind": visit.exemption.kind.value,
                "signed_by": visit.exemption.signed_by,
                "signed_at": local_iso(visit.exemption.signed_at, zone),
                "note": visit.exemption.note,
            }
            if visit.exemption
            else None
        ),
        "form_state": form_state(visit, now, zone).value,
        "form_due_at": local_iso(form_due_at(visit, zone), zone) if visit.decision else None,
    }


def _decision(d: Decision, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": d.decision_id,
        "registration_id": d.registration_id,
        "registrant_id": d.registrant_id,
        "kind": d.source.value,
        "decided_by": d.decided_by,
        "decided_at": local_iso(d.decided_at, zone),
        "replaces": d.replaces,
        "reason": d.reason,
    }

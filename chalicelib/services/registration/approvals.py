"""A sales manager approves a late entry (R-REG-1, R-REG-2).

The approval is kept on the customer, the unit of consistency, so the
registration that uses it reads it in the same round trip as everything else.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from chalicelib.errors import Failed, FieldError, StoreUnavailable, from_refusal, validation_error
from chalicelib.observability import logger, mask_phones
from chalicelib.rules.claims import Customer, LateApproval
from chalicelib.rules.localtime import local_date
from chalicelib.rules.phone import customer_key, mask_phone
from chalicelib.rules.records import AuditEntry
from chalicelib.rules.registration import check_late_approval, late_entry_cutoff
from chalicelib.rules.staff import Staff
from chalicelib.services.customers import Customers
from chalicelib.services.ids import new_id
from chalicelib.services.registration.intake import Id, Reason, mobile, validated
from chalicelib.services.registration.registrations import customer_subject
from chalicelib.services.views import local_iso
from chalicelib.settings import Settings
from chalicelib.store import Store, VersionConflict

MAX_ATTEMPTS = 5
# the late rule of whoever the approval is for, as their registration cites it:
# a consultant's walk-in (R-REG-1), a broker's customer (R-REG-4), else a channel's
_LATE_RULE = {"stf": "R-REG-1", "brk": "R-REG-4"}


class _Approval(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    phone: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    registrant_id: Id
    visit_date: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    reason: Reason


def approve_late_entry(
    store: Store, settings: Settings, manager: Staff, raw: bytes, now: datetime
) -> dict[str, Any]:
    """Record the approval; it unlocks that registrant's (or consultant's)
    registration of that visit until the cutoff on the next local day."""
    ask = validated(_Approval, raw)
    phone = mobile(ask.phone, "phone")
    policy = settings.policy
    try:
        visit_day = date.fromisoformat(ask.visit_date)
    except ValueError as exc:
        raise Failed(validation_error(FieldError("visit_date", "not a date"))) from exc
    if visit_day > local_date(now, policy.zone):
        raise Failed(validation_error(FieldError("visit_date", "a visit that took place")))
    rule = _LATE_RULE.get(ask.registrant_id.partition("_")[0], "R-REG-2")
    too_late = check_late_approval(visit_day, now, policy, rule=rule)
    if too_late is not None:
        raise Failed(from_refusal(too_late))
    approval = LateApproval(ask.registrant_id, visit_day, now, manager.staff_id, ask.reason)
    key = customer_key(phone, settings.phone_hmac_key)
    customer = store.get_customer(key) or Customer()
    for _ in range(MAX_ATTEMPTS):
        try:
            Customers(store, policy).commit(
                key,
                phone,
                replace(customer, approvals=(*customer.approvals, approval)),
                now,
            )
            break
        except VersionConflict as conflict:
            customer = conflict.current or store.get_customer(key) or Customer()
    else:
        raise StoreUnavailable("too much contention on one customer")
    store.append_audit(
        AuditEntry(
            subject=customer_subject(key),
            entry_id=new_id("au", now),
            at=now,
            action="late_entry.approved",
            actor=manager.staff_id,
            request_id=logger.get_correlation_id(),
            detail=mask_phones(
                f"for {approval.registrant_id}, visit {visit_day.isoformat()}: {approval.reason}"
            ),
        )
    )
    valid_until = late_entry_cutoff(visit_day, policy)
    return {
        "phone_masked": mask_phone(phone),
        "registrant_id": approval.registrant_id,
        "visit_date": visit_day.isoformat(),
        "reason": approval.reason,
        "approved_by": manager.staff_id,
        "approved_at": local_iso(now, policy.zone),
        "valid_until": local_iso(valid_until, policy.zone),
    }

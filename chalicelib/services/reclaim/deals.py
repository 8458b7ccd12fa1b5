"""成交: a sales manager, or the consultant who owns the customer, records a
deal; it is credited at that instant (R-RECLAIM-1) and converts the live
recommendation (its registrant's feed gets ``registration.converted``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.errors import Failed, Problem, from_refusal, not_found
from chalicelib.observability import count
from chalicelib.rules.claims import Customer
from chalicelib.rules.deals import recorded_deal
from chalicelib.rules.phone import customer_key, mask_phone
from chalicelib.rules.records import Event
from chalicelib.rules.refusals import Refusal
from chalicelib.rules.staff import Role, Staff
from chalicelib.rules.sweep import FEED_SOURCES
from chalicelib.services import audit
from chalicelib.services.customers import Customers
from chalicelib.services.ids import derived_id
from chalicelib.services.registration.intake import Note, PhoneText, mobile, validated
from chalicelib.services.registration.registrations import customer_subject
from chalicelib.services.views import local_iso
from chalicelib.settings import Settings
from chalicelib.store import Store


class _Deal(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    phone: PhoneText
    note: Note | None = None


class Deals:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._zone = settings.policy.zone
        self._settle = timedelta(seconds=settings.event_settle_seconds)
        self._customers = Customers(store, settings.policy)

    def record(self, caller: Staff, raw: bytes, now: datetime) -> dict[str, Any]:
        ask = validated(_Deal, raw)
        phone = mobile(ask.phone, "phone")
        key = customer_key(phone, self._settings.phone_hmac_key)
        refused: list[Refusal] = []

        def deal(customer: Customer) -> Customer | None:
            if caller.role is Role.CONSULTANT and customer.consultant_at(now) != caller.staff_id:
                raise Failed(
                    Problem(
                        "FORBIDDEN",
                        "A consultant records deals for their own customers only.",
                        "R-RECLAIM-1",
                    )
                )
            outcome = recorded_deal(customer, now, caller.staff_id)
            if isinstance(outcome, Refusal):
                refused.append(outcome)
                return None
            return outcome

        after = self._customers.change(key, None, deal, now)
        if after is None:
            raise Failed(not_found("customer"))
        if refused:
            raise Failed(from_refusal(refused[0]))
        recorded = after.deal
        assert recorded is not None
        audit.record(
            self._store,
            customer_subject(key),
            "deal.recorded",
            recorded.at,
            recorded.recorded_by,
            rule="R-RECLAIM-1",
            registration_id=recorded.registration_id,
            detail=f"consultant {recorded.consultant_id or '-'}"
            + (f"; {ask.note}" if ask.note else ""),
            entry_id=derived_id("au", key, "deal"),
        )
        self._publish(after, now)
        count("DealRecorded")
        return {
            "phone_masked": mask_phone(phone),
            "at": local_iso(recorded.at, self._zone),
            "recorded_by": recorded.recorded_by,
            "consultant_id": recorded.consultant_id,
            "registration_id": recorded.registration_id,
            "registrant_id": recorded.registrant_id,
        }

    def _publish(self, customer: Customer, now: datetime) -> None:
        deal = customer.deal
        assert deal is not None
        claim = next(
            (c for c in customer.claims if c.registration_id == deal.registration_id), None
        )
        if claim is None or claim.source not in FEED_SOURCES:
            return

        def event_at(recorded_at: datetime) -> Event:
            return Event(
                event_id=derived_id("ev", claim.registration_id, "registration.converted"),
                type="registration.converted",
                registrant_id=claim.registrant_id,
                registration_id=claim.registration_id,
                occurred_at=deal.at,
                recorded_at=recorded_at,
            )

        if self._store.publish(claim, "registration.converted", event_at, now, self._settle):
            count("EventPublished", type="registration.converted")

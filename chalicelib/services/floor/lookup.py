"""判客: who owns a customer, looked up by phone (R-FLOOR-2, R-DUP-1).

The channel assistant and managers see the live claims, the owning
consultant, the recommendation count and the audit trail; the front desk
sees only whether the customer is known and whom to call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from chalicelib.rules.claims import Claim, Customer, Source
from chalicelib.rules.masked import MaskedClaim
from chalicelib.rules.phone import customer_key, mask_phone
from chalicelib.rules.staff import Role, Staff
from chalicelib.services.floor.appeals import Appeals
from chalicelib.services.registration.intake import mobile, validated
from chalicelib.services.registration.registrations import customer_subject
from chalicelib.services.registration.resolution import MaskResolution, Resolution
from chalicelib.services.views import local_iso
from chalicelib.settings import Settings
from chalicelib.store import Store


class _Lookup(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    phone: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class Lookups:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._zone = settings.policy.zone

    def look_up(self, caller: Staff, raw: bytes, now: datetime) -> dict[str, Any]:
        phone = _phone(raw)
        key = customer_key(phone, self._settings.phone_hmac_key)
        customer = self._store.get_customer(key) or Customer()
        live = customer.live_claim(now)
        pending = MaskResolution(self._store, self._settings).pending(phone, now)
        if caller.role is Role.FRONT_DESK:
            waiting = pending is not None and not pending[1]
            return self._front_desk(customer, live, waiting)
        return {
            "phone_masked": mask_phone(phone),
            "known": bool(customer.claims),
            "recommendations": customer.recommendations(),
            "live_claims": [self._claim(live, now, named=True)] if live else [],
            "claims": [self._claim(c, now) for c in customer.claims],
            "history": [
                {
                    "at": local_iso(e.at, self._zone),
                    "action": e.action,
                    "actor": e.actor,
                    "rule": e.rule,
                    "code": e.code,
                    "registration_id": e.registration_id,
                    "request_id": e.request_id,
                    "detail": e.detail,
                }
                for e in self._store.audit_trail(customer_subject(key))
            ],
            # the appeals of its 判客 decisions, with their state (decision 0012)
            "appeals": Appeals(self._store, self._settings).of_customer(key),
            # a masked registration whose mask this number matches, waiting for
            # the visit to resolve it (decision 0013)
            "masked_claim": self._masked(*pending, now) if pending else None,
        }

    def claim_view(self, claim: Claim, now: datetime) -> dict[str, Any]:
        return self._claim(claim, now, named=True)

    def _masked(self, masked: MaskedClaim, excluded: bool, now: datetime) -> dict[str, Any]:
        """``excluded``: a differing surname found this number is another
        person's; it may be registered while the masked claim holds."""
        view = self._claim(masked.claim, now, named=True)
        return {**view, "surname": masked.surname, "excluded": excluded}

    def _front_desk(self, customer: Customer, live: Claim | None, waiting: bool) -> dict[str, Any]:
        """Known or not, and whom to call: nothing about who holds the claim."""
        if live is None and waiting:
            return {"known": True, "call": "channel_assistant", "consultant": None}
        if live is None:
            return {
                "known": bool(customer.claims),
                "call": "consultant_on_duty",
                "consultant": None,
            }
        if live.source is Source.CONSULTANT:
            member = self._store.get_staff(live.registrant_id)
            consultant = {"id": live.registrant_id, "name": member.name if member else None}
            return {"known": True, "call": "consultant", "consultant": consultant}
        return {"known": True, "call": "channel_assistant", "consultant": None}

    def _claim(self, claim: Claim, now: datetime, *, named: bool = False) -> dict[str, Any]:
        # a hold's: its window, or longer once its agency's visit is logged (R-REG-3)
        until = claim.protection.ends_at if claim.protection else claim.hold_ends_at()
        view = {
            "registration_id": claim.registration_id,
            "holder_id": claim.registrant_id,
            "kind": claim.source.value,
            "status": claim.status(now).value,
            "ordinal": claim.ordinal,
            "since": local_iso(claim.created_at, self._zone),
            "until": local_iso(until, self._zone),
        }
        if named:
            view["holder_name"] = self._holder_name(claim)
        return view

    def _holder_name(self, claim: Claim) -> str | None:
        if claim.source is Source.CONSULTANT:
            member = self._store.get_staff(claim.registrant_id)
            return member.name if member else None
        if claim.source is Source.BROKER:
            broker = self._store.get_broker(claim.registrant_id)
            return broker.name if broker else None
        registrant = self._store.get_registrant(claim.registrant_id)
        return registrant.name if registrant else None


def resolution_view(resolution: Resolution, lookups: Lookups, now: datetime) -> dict[str, Any]:
    """What a resolution did, for the channel assistant (names the holder)."""
    claim = resolution.claim
    refusal = resolution.refusal
    return {
        "outcome": resolution.outcome,
        "claim": lookups.claim_view(claim, now) if claim else None,
        "refusal": (
            {"code": refusal.code, "rule": refusal.rule, "message": refusal.message}
            if refusal
            else None
        ),
    }


def _phone(raw: bytes) -> str:
    return mobile(validated(_Lookup, raw).phone, "phone")

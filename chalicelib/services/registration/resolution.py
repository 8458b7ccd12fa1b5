"""A masked claim meets its customer at the visit (decision 0013).

When the front desk logs an arrival with the phone and the name, or the
channel assistant signs a household in, the number is known: a masked claim
holding its mask whose surname matches becomes the customer's claim (one
conditional write on the customer), then its registration record, its event
and its audit entry are written, and last the mask is let go. Each step is
safe to redo, so a crash anywhere is healed by the next arrival or sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.observability import count, logger
from chalicelib.rules.claims import Claim, Customer, Period
from chalicelib.rules.masked import MaskedClaim, resolved_claim, surname_of
from chalicelib.rules.phone import customer_key, mask_phone
from chalicelib.rules.records import AuditEntry, Event, Registration
from chalicelib.rules.refusals import Refusal
from chalicelib.services.customers import Customers
from chalicelib.services.ids import derived_id
from chalicelib.services.registration.registrations import customer_subject, protected_event
from chalicelib.settings import Settings
from chalicelib.store import Store


@dataclass(frozen=True)
class Resolution:
    """What a resolution did: ``resolved``, ``refused`` (by ``refusal``: the
    masked registration lapsed), ``surname_differs`` (nothing changed) or
    ``none`` (no masked claim holds the number's mask)."""

    outcome: str
    claim: Claim | None = None
    refusal: Refusal | None = None


class MaskResolution:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._policy = settings.policy
        self._customers = Customers(store, settings.policy)

    def pending(self, phone: str, now: datetime) -> MaskedClaim | None:
        """The masked claim holding this number's mask, if any (for 判客)."""
        masked = self._store.get_mask(self._mask_key(phone)).masked
        return masked if masked is not None and masked.holds(now) else None

    def resolve(self, phone: str, name: str, actor: str, now: datetime) -> Resolution:
        """Resolve the masked claim holding the number's mask to this
        customer, if its surname is ``name``'s."""
        mask_key = self._mask_key(phone)
        masked = self._store.get_mask(mask_key).masked
        if masked is None or not masked.holds(now):
            return Resolution("none")
        if surname_of(name) != masked.surname:
            return Resolution("surname_differs", masked.claim)
        key = customer_key(phone, self._settings.phone_hmac_key)
        outcome: list[Claim | Refusal | None] = [None]

        def add(customer: Customer) -> Customer | None:
            if _has(customer, masked) is not None:
                return None  # resolved before, by a request that died after
            outcome[0] = resolved_claim(masked, customer, name, now, self._policy)
            claim = outcome[0]
            return customer.with_claim(claim) if isinstance(claim, Claim) else None

        customer = self._customers.change(key, phone, add, now)
        claim = _has(customer, masked) if customer is not None else None
        if claim is not None:
            self._record(masked, claim, key, actor, now)
            self._store.resolve_mask(mask_key, claim.registration_id, key, now)
            count("MaskedClaimResolved", source=claim.source.value)
            logger.info("masked claim resolved", extra={"registration_id": claim.registration_id})
            return Resolution("resolved", claim)
        refusal = outcome[0]
        if isinstance(refusal, Refusal):
            self._refused(masked, refusal, key, actor, now)
            self._store.withdraw_mask(mask_key, masked.claim.registration_id, now)
            return Resolution("refused", masked.claim, refusal)
        return Resolution("none")

    def _mask_key(self, phone: str) -> str:
        return customer_key(mask_phone(phone), self._settings.phone_hmac_key)

    def _record(
        self, masked: MaskedClaim, claim: Claim, key: str, actor: str, now: datetime
    ) -> None:
        """The registrant's record reads the customer's claim; its event; the
        customer's audit entry (derived ids: a redo writes the same items)."""
        record = self._record_of(claim, key)
        event = protected_event(claim, recorded_at=now)
        entry = _entry(
            claim, key, actor, now, "registration.resolved", refusal=None, detail=_detail(masked)
        )
        self._store.save_reversal_records(record, [event] if event else [], [entry], None)

    def _refused(
        self, masked: MaskedClaim, refusal: Refusal, key: str, actor: str, now: datetime
    ) -> None:
        """The customer cannot take the claim (R-PROT-1): it lapses now."""
        lapsed = replace(
            masked.claim,
            visit_window=Period(masked.claim.created_at, max(now, masked.claim.created_at)),
        )
        event = Event(
            event_id=derived_id("ev", lapsed.registration_id, "registration.lapsed"),
            type="registration.lapsed",
            registrant_id=lapsed.registrant_id,
            registration_id=lapsed.registration_id,
            occurred_at=now,
            recorded_at=now,
        )
        entry = _entry(
            lapsed, key, actor, now, "registration.refused", refusal=refusal, detail=_detail(masked)
        )
        self._store.save_reversal_records(self._record_of(lapsed, None), [event], [entry], None)
        logger.info("masked claim refused at its visit", extra={"rule": refusal.rule})

    def _record_of(self, claim: Claim, key: str | None) -> Registration | None:
        record = self._store.get_registration(claim.registrant_id, claim.registration_id)
        if record is None:
            return None
        return replace(record, claim=claim, customer_key=key or record.customer_key)


def _has(customer: Customer, masked: MaskedClaim) -> Claim | None:
    rid = masked.claim.registration_id
    return next((c for c in customer.claims if c.registration_id == rid), None)


def _detail(masked: MaskedClaim) -> str:
    return f"{masked.claim.source.value}; masked registration resolved at the visit"


def _entry(
    claim: Claim,
    key: str,
    actor: str,
    now: datetime,
    action: str,
    *,
    refusal: Refusal | None,
    detail: str,
) -> AuditEntry:
    return AuditEntry(
        subject=customer_subject(key),
        entry_id=derived_id("au", claim.registration_id, action),
        at=now,
        action=action,
        actor=actor,
        request_id=logger.get_correlation_id(),
        rule=refusal.rule if refusal else "R-DUP-1",
        code=refusal.code if refusal else None,
        registration_id=claim.registration_id,
        detail=detail,
    )


def note_customers_on_masks(store: Store, settings: Settings) -> int:
    """Note every stored customer on its number's mask: once, after deploying
    the masked registration onto a store that already holds customers (a
    customer registered since is noted by its registration). Repeatable."""
    noted = 0
    for key, phone in store.customer_phones():
        if phone:
            store.note_customer(customer_key(mask_phone(phone), settings.phone_hmac_key), key)
            noted += 1
    return noted

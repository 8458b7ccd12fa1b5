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
from datetime import datetime, timedelta

from chalicelib.observability import count, logger
from chalicelib.rules.claims import Claim, Customer, Period
from chalicelib.rules.masked import MaskedClaim, resolved_claim, surname_of
from chalicelib.rules.phone import customer_key, mask_phone
from chalicelib.rules.records import AuditEntry, Event
from chalicelib.rules.refusals import Refusal
from chalicelib.services import audit
from chalicelib.services.customers import Customers
from chalicelib.services.ids import derived_id
from chalicelib.services.registration.registrations import FEED_SOURCES, customer_subject
from chalicelib.settings import Settings
from chalicelib.store import Store


@dataclass(frozen=True)
class Resolution:
    """What a resolution did: ``resolved``, ``refused`` (by ``refusal``: the
    masked registration lapsed), ``surname_differs`` (another person sharing
    the mask: this number is excluded from the hold, nothing else changed) or
    ``none`` (no masked claim holds the number's mask)."""

    outcome: str
    claim: Claim | None = None
    refusal: Refusal | None = None


# a hold that ended this recently may still be resolved by a request begun
# before its end (longer than the API function's timeout)
SETTLING = timedelta(minutes=1)


class MaskResolution:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._policy = settings.policy
        self._customers = Customers(store, settings.policy)

    def pending(self, phone: str, now: datetime) -> tuple[MaskedClaim, bool] | None:
        """The masked claim holding this number's mask, if any (for 判客), and
        whether a differing surname already excluded this number from it."""
        mask = self._store.get_mask(self._mask_key(phone))
        masked = mask.masked
        if masked is None or not masked.holds(now):
            return None
        return masked, customer_key(phone, self._settings.phone_hmac_key) in mask.excluded

    def resolve(self, phone: str, name: str, actor: str, now: datetime) -> Resolution:
        """Resolve the masked claim holding the number's mask to this
        customer, if its surname is ``name``'s."""
        mask_key = self._mask_key(phone)
        masked = self._store.get_mask(mask_key).masked
        if masked is None or not masked.holds(now):
            return Resolution("none")
        key = customer_key(phone, self._settings.phone_hmac_key)
        if surname_of(name) != masked.surname:
            # another person who shares the mask: this number may be
            # registered while the masked claim holds (R-DUP-1 is about one
            # customer); the claim itself keeps holding for its own customer
            self._store.exclude_from_mask(mask_key, masked.claim.registration_id, key, now)
            entry = _entry(
                masked.claim,
                key,
                actor,
                now,
                "masked_claim.not_this_customer",
                refusal=None,
                detail="the surname differs: another person sharing the mask",
            )
            self._store.append_audit(entry, once=True)
            return Resolution("surname_differs", masked.claim)
        # first, so that the sweep finds the claim on this customer if this
        # resolution dies before it lets the mask go
        self._store.note_customer(mask_key, key)
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

    def record_lapses(self, bucket: str, now: datetime) -> int:
        """The sweep: ``registration.lapsed`` for each masked claim whose hold
        ended on this UTC day unresolved, once. A hold that ended in
        the last minute waits for the next run (a resolution begun just before
        its end may still be finishing), as does one whose mask turns out to
        be resolved: a resolution that died before letting the mask go is
        finished here instead."""
        lapsed = 0
        for mask_key, mask in self._store.masks_due_for_sweep(bucket, now - SETTLING):
            masked = mask.masked
            if masked is None:
                continue
            rid = masked.claim.registration_id
            if masked.resolved_to is None and not masked.withdrawn:
                customers = self._store.customers_by_key(sorted(mask.customers))
                holder = next((k for k, c in customers.items() if _has(c, masked)), None)
                if holder is not None:
                    self._store.resolve_mask(mask_key, rid, holder, now)
                    continue
                at = masked.holds_until()
                if self._publish_checked(masked.claim, "registration.lapsed", at, now):
                    lapsed += 1
            self._store.mask_swept(mask_key, rid)
        return lapsed

    def _publish_checked(self, claim: Claim, event_type: str, at: datetime, now: datetime) -> bool:
        settle = timedelta(seconds=self._settings.event_settle_seconds)
        published = publish_notice(self._store, claim, event_type, at, now, settle=settle)
        if not published:  # its request died before writing the record
            rid = claim.registration_id
            logger.warning("masked lapse without a record", extra={"registration_id": rid})
        return published

    def _mask_key(self, phone: str) -> str:
        return customer_key(mask_phone(phone), self._settings.phone_hmac_key)

    def _record(
        self, masked: MaskedClaim, claim: Claim, key: str, actor: str, now: datetime
    ) -> None:
        """The registrant's record names the customer and reads its claim,
        with its ``registration.protected`` event (a hold, confirmed at 判客
        later, is copied with none); the customer's audit entry. Each is
        written once, however often redone."""
        self._store.name_customer(claim.registrant_id, claim.registration_id, key)
        if claim.protection is not None and claim.source in FEED_SOURCES:
            self._publish(claim, "registration.protected", claim.protection.starts_at, now)
        else:
            self._store.copy_claim(claim)
        entry = _entry(
            claim, key, actor, now, "registration.resolved", refusal=None, detail=_detail(masked)
        )
        self._store.append_audit(entry, once=True)

    def _refused(
        self, masked: MaskedClaim, refusal: Refusal, key: str, actor: str, now: datetime
    ) -> None:
        """The customer cannot take the claim (R-PROT-1): it lapses now."""
        lapsed = replace(
            masked.claim,
            visit_window=Period(masked.claim.created_at, max(now, masked.claim.created_at)),
        )
        self._publish(lapsed, "registration.lapsed", now, now)
        entry = _entry(
            lapsed, key, actor, now, "registration.refused", refusal=refusal, detail=_detail(masked)
        )
        self._store.append_audit(entry, once=True)
        logger.info("masked claim refused at its visit", extra={"rule": refusal.rule})

    def _publish(self, claim: Claim, event_type: str, at: datetime, now: datetime) -> None:
        settle = timedelta(seconds=self._settings.event_settle_seconds)
        publish_notice(self._store, claim, event_type, at, now, settle=settle)


def publish_notice(
    store: Store, claim: Claim, event_type: str, at: datetime, now: datetime, *, settle: timedelta
) -> bool:
    """``event_type`` for the claim's registrant, once: the claim copied onto
    its record, the event at the record's position (store.publish)."""

    def event_at(recorded_at: datetime) -> Event:
        return Event(
            event_id=derived_id("ev", claim.registration_id, event_type),
            type=event_type,
            registrant_id=claim.registrant_id,
            registration_id=claim.registration_id,
            occurred_at=at,
            recorded_at=recorded_at,
        )

    return store.publish(claim, event_type, event_at, now, settle)


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
    return audit.entry(
        customer_subject(key),
        action,
        now,
        actor,
        rule=refusal.rule if refusal else "R-DUP-1",
        code=refusal.code if refusal else None,
        registration_id=claim.registration_id,
        detail=detail,
        entry_id=derived_id("au", claim.registration_id, action),
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

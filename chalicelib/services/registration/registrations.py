"""The registration webhook: authenticate, take the key, decide, commit, answer.

One (caller, Idempotency-Key) is one decision: the request reserves the key
with a conditional put before it decides, so two requests with one key
never both decide, whatever phones their bodies name (docs/decisions/0007).

Requests to the store per registration of a new customer by a registrant
this instance has seen in the last 10 s (see docs/benchmarks.md): accepted 4
(the key's conditional PutItem, the note on the number's mask, the customer's
conditional PutItem, one BatchWriteItem of the records), refused 4 (the
same, the customer's write failing), replayed 1. A masked registration
(隐号报备, decision 0013) holds the mask instead of claiming a customer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.errors import (
    UNCERTAIN_RETRY_SECONDS,
    Failed,
    FieldError,
    Problem,
    StoreUnavailable,
    from_refusal,
    unauthenticated,
    validation_error,
)
from chalicelib.observability import count, logger
from chalicelib.rules.brokers import check_broker, id_card_key, normalize_id_card
from chalicelib.rules.claims import Claim, Customer, Source
from chalicelib.rules.localtime import local_date
from chalicelib.rules.masked import (
    MaskedClaim,
    check_masked,
    masked_claim_match,
    masked_hold,
    surname_of,
)
from chalicelib.rules.phone import customer_key
from chalicelib.rules.policy import Policy
from chalicelib.rules.records import (
    IDEMPOTENCY_WINDOW,
    AuditEntry,
    Event,
    Registrant,
    Registration,
    StoredAnswer,
)
from chalicelib.rules.refusals import Refusal
from chalicelib.rules.registration import Recommendation, decide, registered
from chalicelib.rules.staff import Staff
from chalicelib.services.customers import Customers
from chalicelib.services.ids import derived_id, new_id
from chalicelib.services.registration.intake import (
    MAX_BODY_BYTES,
    BrokerShown,
    RegistrationBody,
    parse_registration,
    parse_staff_registration,
)
from chalicelib.services.registration.ratelimit import RateLimiter
from chalicelib.services.views import registration_view
from chalicelib.settings import Settings
from chalicelib.signing import verify
from chalicelib.store import Store, VersionConflict

FEED_SOURCES = frozenset({Source.CHANNEL, Source.DISTRIBUTION, Source.ECOMMERCE})
# A claim made by the same key less than this long ago belongs to a request
# still running (409); older, its request died after the decisive write and a
# retry completes it. Longer than the API function's timeout.
IN_PROGRESS_SECONDS = UNCERTAIN_RETRY_SECONDS
# Lost races before giving up with 503; each loss means another registration
# for the same customer committed, so a few are plenty.
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class WebhookRequest:
    registrant_id: str | None
    signature: str | None
    idempotency_key: str | None
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class Answer:
    """What to send back: ``code`` None for success, else the error code."""

    code: str | None
    body: str
    replayed: bool = False
    retry_after: int | None = None


@dataclass(frozen=True)
class _Attempt:
    """One authenticated, validated registration request."""

    caller_id: str  # who sent it: a registrant, or a consultant; scopes the key
    registrant_id: str  # the claimant: the registrant, a broker, or the consultant
    source: Source
    idempotency_key: str
    body: RegistrationBody
    customer_key: str
    broker_certified_at: datetime | None = None  # R-REG-4, for a broker's customer

    def recommendation(self, now: datetime) -> Recommendation:
        return Recommendation(
            registration_id=new_id("rg", now),
            registrant_id=self.registrant_id,
            source=self.source,
            visit_at=self.body.visit_at,
            idempotency_key=self.idempotency_key,
            request_hash=self.body.request_hash,
            broker_certified_at=self.broker_certified_at,
        )

    def audit(
        self,
        action: str,
        at: datetime,
        *,
        entry_id: str,
        registration_id: str | None = None,
        rule: str | None = None,
        code: str | None = None,
        detail: str | None = None,
        day: date | None = None,
    ) -> AuditEntry:
        """An entry in the customer's audit trail, by whoever sent the request;
        an outcome carries its local ``day`` for the daily report (R-REG-2)."""
        return AuditEntry(
            subject=customer_subject(self.customer_key),
            entry_id=entry_id,
            at=at,
            action=action,
            actor=self.caller_id,
            request_id=logger.get_correlation_id(),
            rule=rule,
            code=code,
            registration_id=registration_id,
            detail=detail,
            day=day.isoformat() if day else None,
            # the daily channel report is about recommenders, not walk-ins
            claimant=self.claimant if day else None,
        )

    def answer(self, code: str | None, text: str | None, at: datetime) -> StoredAnswer:
        """The key's answer; with no ``text``, the reservation taking the key."""
        return StoredAnswer(
            self.caller_id, self.idempotency_key, self.body.request_hash, code, text, at
        )

    @property
    def claimant(self) -> str | None:
        """Whom the daily channel report counts: recommenders, not walk-ins."""
        return None if self.source is Source.CONSULTANT else self.registrant_id


class Registrations:
    def __init__(self, store: Store, settings: Settings, limiter: RateLimiter) -> None:
        self._store = store
        self._settings = settings
        self._policy = settings.policy
        self._limiter = limiter
        self._customers = Customers(store, settings.policy)

    # -- the webhook ---------------------------------------------------------

    def register(self, req: WebhookRequest, now: datetime) -> Answer:
        try:
            return self._register(req, now)
        except Failed as failed:
            return _problem_answer(failed.problem)

    def authenticate(self, req: WebhookRequest, now: datetime) -> Registrant:
        """For the read routes: the signed caller, or Failed(401/429)."""
        if not req.registrant_id or not req.signature:
            raise Failed(unauthenticated())
        registrant, kept = self._store.signing_registrant(req.registrant_id, now)
        if kept and not _signs(registrant, req, now):
            # disabled, re-enabled or rotated by another instance: read it again
            registrant, _ = self._store.signing_registrant(req.registrant_id, now, fresh=True)
        return self._verified(registrant, req, now)

    def register_by_consultant(
        self, consultant: Staff, idempotency_key: str | None, req: WebhookRequest, now: datetime
    ) -> Answer:
        """A consultant registers a walk-in (R-REG-1), or a crowd broker's
        customer at the accompanied visit (R-REG-4)."""
        try:
            check_json(req)
            key = required_key(idempotency_key)
            body = parse_staff_registration(req.body)
            assert body.phone is not None  # a consultant's body has the full number
            broker = body.broker
            attempt = _Attempt(
                consultant.staff_id,
                broker.broker_id if broker else consultant.staff_id,
                Source.BROKER if broker else Source.CONSULTANT,
                key,
                body,
                self._key(body.phone),
            )
            if broker is None:
                return self._decide_once(attempt, now)
            card = _id_card(broker)
            found = self._store.get_broker(broker.broker_id)
            refusal = check_broker(found, id_card_key(card, self._settings.phone_hmac_key), now)
            if found is not None:
                attempt = replace(attempt, broker_certified_at=found.certified_at)
            return self._decide_once(attempt, now, refusal)
        except Failed as failed:
            return _problem_answer(failed.problem)

    def _register(self, req: WebhookRequest, now: datetime) -> Answer:
        check_json(req)
        registrant = self.authenticate(req, now)
        key = required_key(req.idempotency_key)
        body = parse_registration(req.body)
        attempt = _Attempt(
            registrant.registrant_id,
            registrant.registrant_id,
            registrant.kind,
            key,
            body,
            self._key(body.phone) if body.phone else masked_subject(self._mask_key(body)),
        )
        return self._decide_once(attempt, now)

    def _verified(
        self, registrant: Registrant | None, req: WebhookRequest, now: datetime
    ) -> Registrant:
        if registrant is None or not registrant.enabled:
            logger.info("authentication refused", extra={"reason": "unknown or disabled"})
            raise Failed(unauthenticated())
        if not _signs(registrant, req, now):
            logger.info("authentication refused", extra={"reason": "signature"})
            raise Failed(unauthenticated())
        wait = self._limiter.retry_after(registrant.registrant_id, now.timestamp())
        if wait is not None:
            raise Failed(Problem("RATE_LIMITED", "Too many requests.", retry_after=wait))
        return registrant

    def _decide_once(
        self,
        attempt: _Attempt,
        now: datetime,
        refusal: Refusal | None = None,
    ) -> Answer:
        """Take the key, then decide (or give ``refusal``, found before): the
        other requests with this key get its answer, or 409 while it is being
        decided, or 422 for another body."""
        invalid = _invalid_request(attempt, now, self._policy)
        if invalid is not None:  # bad input, not a decision: answered, never stored
            return _json_answer(invalid)
        pending = attempt.answer(None, None, now)
        stale = now - timedelta(seconds=IN_PROGRESS_SECONDS)
        reservation = self._store.reserve_answer(pending, stale_before=stale)
        if reservation.held is not None:
            return _held(reservation.held, attempt.body)
        try:
            if refusal is not None:
                return self._refuse(refusal, attempt, now)
            if attempt.body.mask is not None:
                return self._decide_masked(attempt, now)
            # a request with this key died or gave up: what it decided is on the customer
            customer = self._current(attempt.customer_key) if reservation.taken_over else None
            return self._decide_and_commit(attempt, customer, now)
        except (StoreUnavailable, Failed) as failure:
            # let a retry take the key at once (it finds any decision made)
            try:
                self._store.release_answer(pending)
            except StoreUnavailable as still:
                # the key stays taken until it is stale: the retry must wait that long
                raise StoreUnavailable(str(still), ambiguous=True) from failure
            raise

    def _decide_and_commit(
        self, attempt: _Attempt, customer: Customer | None, now: datetime
    ) -> Answer:
        """Decide against the customer (None: not read; most registrations
        are of a new customer, so first assume one and let the conditional
        write say otherwise); commit with one conditional write; on a lost
        race, decide again against what won."""
        phone = attempt.body.phone
        assert phone is not None  # a masked registration is decided on its mask
        read = customer is not None
        current = customer or Customer()
        noted = False
        for _ in range(MAX_ATTEMPTS):
            earlier = current.claim_from_request(attempt.registrant_id, attempt.idempotency_key)
            if earlier is not None and now < earlier.created_at + IDEMPOTENCY_WINDOW:
                return self._complete(earlier, attempt, now)
            outcome = decide(attempt.recommendation(now), current, now, self._policy)
            if isinstance(outcome, Refusal) and not read:
                # refused against an assumed new customer: decide on the real one
                current, read = self._current(attempt.customer_key), True
                continue
            if isinstance(outcome, Refusal):
                return self._refuse(outcome, attempt, now)
            if not noted and not self._note_on_mask(attempt, now):
                return self._refuse(masked_claim_match(), attempt, now)
            noted = True
            try:
                self._customers.commit(
                    attempt.customer_key,
                    phone,
                    registered(current, outcome, attempt.body.visit_at),
                    now,
                )
            except VersionConflict as conflict:
                current = conflict.current or self._current(attempt.customer_key)
                read = True
                continue
            return self._accept(outcome, attempt, now)
        raise StoreUnavailable("too much contention on one customer")

    def _note_on_mask(self, attempt: _Attempt, now: datetime) -> bool:
        """Before claiming the customer: note the claim on its number's mask,
        unless a masked claim holds the mask (decision 0013)."""
        mask_key = self._mask_key(attempt.body)
        return self._store.note_full_registration(mask_key, attempt.customer_key, now)

    def _decide_masked(self, attempt: _Attempt, now: datetime) -> Answer:
        """A registration by mask: decided against a customer with no history,
        then held on the mask if no other masked claim holds it, then checked
        against the customers registered by a matching number (decision 0013)."""
        outcome = decide(attempt.recommendation(now), Customer(), now, self._policy)
        if isinstance(outcome, Refusal):
            return self._refuse(outcome, attempt, now)
        mask_key = self._mask_key(attempt.body)
        masked = MaskedClaim(masked_hold(outcome, now, self._policy), surname_of(attempt.body.name))
        mask = self._store.hold_mask(mask_key, masked, now)
        if mask is None:
            current = self._store.get_mask(mask_key)
            held = current.masked
            if (
                held is None
                or held.claim.idempotency_key != attempt.idempotency_key
                or held.claim.registrant_id != attempt.registrant_id
            ):
                return self._refuse(masked_claim_match(), attempt, now)
            # this key's request held the mask and died: check as it would have
            mask, masked = current, held
        customers = self._store.customers_by_key(sorted(mask.customers))
        refusal = check_masked(None, list(customers.values()), mask.full_at, now, self._policy)
        if refusal is not None:
            self._store.withdraw_mask(mask_key, masked.claim.registration_id, now)
            return self._refuse(refusal, attempt, now)
        if masked.claim.created_at < now:
            return self._complete(masked.claim, attempt, now)
        return self._accept(masked.claim, attempt, now)

    def _current(self, key: str) -> Customer:
        return self._store.get_customer(key) or Customer()

    def _complete(self, earlier: Claim, attempt: _Attempt, now: datetime) -> Answer:
        """A request with this key won the customer and died (or gave up)
        before its records: this one, holding the key now, writes them."""
        if earlier.request_hash != attempt.body.request_hash:
            return _problem_answer(_key_reused())
        logger.warning("completing a registration whose request died after its decision")
        registration, text = self._registration(
            earlier, attempt, decided_at=earlier.created_at, recorded_at=now
        )
        with _decided_if_unavailable():
            self._store.complete_acceptance(
                registration,
                lambda recorded_at: protected_event(earlier, recorded_at=recorded_at),
                attempt.answer(None, text, earlier.created_at),
                # derived id: completions that race write one entry
                attempt.audit(
                    "registration.accepted",
                    earlier.created_at,
                    entry_id=derived_id("au", earlier.registration_id, "accepted"),
                    registration_id=earlier.registration_id,
                    detail="completed by a retry after the first request died",
                    day=self._day(earlier.created_at),
                ),
            )
        return Answer(None, text)

    def _registration(
        self, claim: Claim, attempt: _Attempt, *, decided_at: datetime, recorded_at: datetime
    ) -> tuple[Registration, str]:
        body = attempt.body
        registration = Registration(
            claim=claim,
            customer_key=attempt.customer_key,
            customer_name=body.name,
            phone_masked=body.phone_masked,
            visit_at=body.visit_at,
            note=body.note,
            recorded_at=recorded_at,
        )
        return registration, _json(registration_view(registration, decided_at, self._policy.zone))

    def _accept(self, claim: Claim, attempt: _Attempt, now: datetime) -> Answer:
        registration, text = self._registration(claim, attempt, decided_at=now, recorded_at=now)
        event = protected_event(claim, recorded_at=now)
        with _decided_if_unavailable():
            self._store.save_acceptance(
                registration,
                event,
                attempt.answer(None, text, now),
                attempt.audit(
                    "registration.accepted",
                    now,
                    entry_id=derived_id("au", claim.registration_id, "accepted"),
                    registration_id=claim.registration_id,
                    detail=f"{claim.source.value}; status {claim.status(now).value}",
                    day=self._day(now),
                ),
            )
        count("RegistrationAccepted", source=claim.source.value)
        if event is not None:
            count("EventPublished", type=event.type)
        logger.info(
            "registration accepted",
            extra={
                "registration_id": claim.registration_id,
                "status": claim.status(now).value,
                "phone": attempt.body.phone_masked,
            },
        )
        return Answer(None, text)

    def _refuse(self, refusal: Refusal, attempt: _Attempt, now: datetime) -> Answer:
        problem = from_refusal(refusal)
        text = _json(problem.document())
        if problem.code == "VALIDATION_ERROR":
            # bad input, not a decision: answered, never stored (API.md); the
            # key is free again
            self._store.release_answer(attempt.answer(None, None, now))
            return Answer(problem.code, text)
        self._store.save_refusal(
            attempt.answer(problem.code, text, now),
            attempt.audit(
                "registration.refused",
                now,
                entry_id=new_id("au", now),
                rule=refusal.rule,
                code=refusal.code,
                detail=attempt.source.value,
                day=self._day(now),
            ),
        )
        count("RegistrationRefused", rule=refusal.rule or "none", code=refusal.code)
        logger.info(
            "registration refused",
            extra={"rule": refusal.rule, "code": refusal.code, "phone": attempt.body.phone_masked},
        )
        return Answer(problem.code, text)

    def _key(self, phone: str) -> str:
        return customer_key(phone, self._settings.phone_hmac_key)

    def _mask_key(self, body: RegistrationBody) -> str:
        return customer_key(body.phone_masked, self._settings.phone_hmac_key)

    def _day(self, at: datetime) -> date:
        return local_date(at, self._policy.zone)


def masked_subject(mask_key: str) -> str:
    """What a masked registration's records name instead of a customer."""
    return f"mask:{mask_key}"


def customer_subject(key: str) -> str:
    """The audit trail a customer's decisions go to."""
    return f"customer:{key}"


def protected_event(claim: Claim, *, recorded_at: datetime) -> Event | None:
    """``registration.protected`` for a registrant whose protection starts at
    registration (brokers and consultants read no feed)."""
    if claim.protection is None or claim.source not in FEED_SOURCES:
        return None
    return Event(
        event_id=derived_id("ev", claim.registration_id, "registration.protected"),
        type="registration.protected",
        registrant_id=claim.registrant_id,
        registration_id=claim.registration_id,
        occurred_at=claim.protection.starts_at,
        recorded_at=recorded_at,
    )


@contextmanager
def _decided_if_unavailable() -> Iterator[None]:
    """After the decisive write the customer is held for this request: a
    store failure then must say so, and how to receive the answer."""
    try:
        yield
    except StoreUnavailable as exc:
        raise Failed(
            Problem(
                "UNAVAILABLE",
                "The registration was decided but its records could not be saved. "
                "Retry with the same Idempotency-Key to receive the answer.",
                retry_after=IN_PROGRESS_SECONDS,
            )
        ) from exc


def check_json(req: WebhookRequest) -> None:
    """413 above 16 KiB, 415 unless application/json (Failed)."""
    if len(req.body) > MAX_BODY_BYTES:
        raise Failed(Problem("PAYLOAD_TOO_LARGE", "The body is over 16 KiB."))
    media_type = (req.content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise Failed(Problem("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json."))


def required_key(key: str | None) -> str:
    """The Idempotency-Key every outside POST carries, or Failed(400)."""
    if key is None or not valid_idempotency_key(key):
        raise Failed(
            validation_error(
                FieldError("Idempotency-Key", "required: 1 to 255 printable ASCII characters")
            )
        )
    return key


def valid_idempotency_key(key: str | None) -> bool:
    return key is not None and 1 <= len(key) <= 255 and all(" " <= ch <= "~" for ch in key)


def _held(stored: StoredAnswer, body: RegistrationBody) -> Answer:
    """The answer for a request whose key another request holds."""
    if stored.request_hash != body.request_hash:
        return _problem_answer(_key_reused())
    if stored.body is None:
        return _problem_answer(_in_progress())
    return Answer(stored.code, stored.body, replayed=True)


def _signs(registrant: Registrant | None, req: WebhookRequest, now: datetime) -> bool:
    return (
        registrant is not None
        and registrant.enabled
        and req.signature is not None
        and any(
            verify(secret, req.signature, req.body, now.timestamp())
            for secret in registrant.secrets_at(now)
        )
    )


def _invalid_request(attempt: _Attempt, now: datetime, policy: Policy) -> Problem | None:
    """What the rules refuse on the request alone as bad input (a missing or
    impossible visit_at): the timing rules come first and read nothing of
    the customer but its approvals, which never make bad input good."""
    outcome = decide(attempt.recommendation(now), Customer(), now, policy)
    if isinstance(outcome, Refusal) and outcome.code == "VALIDATION_ERROR":
        return from_refusal(outcome)
    return None


def _id_card(shown: BrokerShown) -> str:
    card = normalize_id_card(shown.id_card)
    if card is None:
        raise Failed(validation_error(FieldError("broker.id_card", "17 digits and a digit or X")))
    return card


def _in_progress() -> Problem:
    return Problem(
        "IDEMPOTENCY_IN_PROGRESS",
        "A request with this Idempotency-Key is still being processed.",
        retry_after=1,
    )


def _key_reused() -> Problem:
    return Problem(
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was used with a different body within 24 hours.",
    )


def _json_answer(problem: Problem) -> Answer:
    return Answer(problem.code, _json(problem.document()))


def _problem_answer(problem: Problem) -> Answer:
    return Answer(problem.code, _json(problem.document()), retry_after=problem.retry_after)


def _json(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

"""判客: the channel assistant decides which recommender owns a visit's
customer (R-FLOOR-2), and a distribution agency's accompanied visit confirms
its provisional hold (R-REG-3).

Order of writes, each one safe to redo: the customer first (the decisive
write: a hold becomes a protection from the visit), then the decision on the
visit, then the registrant's record, its ``registration.protected`` event and
the audit entry, together. A retry of the same decision finishes whatever a
died request left undone.

At most five DynamoDB requests, the caller's authentication included
(docs/benchmarks.md): the route reads ahead (``reading_ahead``) the visit with
the caller's token, then the customer, the registrant's record and the audit
entry a repeat may have left with the caller's staff member; the customer
(only when the visit confirms a hold); the visit; the records, in one batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.errors import Failed, FieldError, Problem, StoreUnavailable, from_refusal
from chalicelib.errors import validation_error as invalid
from chalicelib.observability import count, logger
from chalicelib.rules.claims import Claim, Customer, Source
from chalicelib.rules.floor import Decision, Visit, claim_for_decision, confirmed
from chalicelib.rules.records import AuditEntry, Event
from chalicelib.rules.refusals import Refusal
from chalicelib.rules.staff import Staff
from chalicelib.services import audit
from chalicelib.services.customers import Customers
from chalicelib.services.floor.views import visit_view
from chalicelib.services.floor.visits import change_visit, customer_unknown, visit_or_404
from chalicelib.services.ids import derived_id, new_id
from chalicelib.services.registration.intake import MAX_BODY_BYTES, Id, Reason, validated
from chalicelib.services.registration.registrations import customer_subject, protected_event
from chalicelib.settings import Settings
from chalicelib.store import Store, VersionConflict
from chalicelib.store.floor import DecisionReads, RecordAsRead

MAX_ATTEMPTS = 5


class _Decide(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    registration_id: Id
    replaces: Id | None = None
    reason: Reason | None = None  # required for a correction


def superseded() -> Failed:
    return Failed(
        Problem(
            "DECISION_SUPERSEDED",
            "Another decision is in force for this visit; a correction names it in `replaces`.",
            "R-FLOOR-2",
        )
    )


class Ownership:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._policy = settings.policy
        self._zone = settings.policy.zone
        self._settle = timedelta(seconds=settings.event_settle_seconds)
        self._customers = Customers(store, settings.policy)

    def reading_ahead(self, visit_id: str, raw: bytes) -> AbstractContextManager[None]:
        """Inside it (the route, around the caller's authentication), the
        decision's reads come with the caller's: the visit with the token, then
        the customer, the registrant's record and the audit entry this
        decision will look at with the staff member. The body is read here only
        to know them; the decision checks it in its turn."""
        ask = _asked(raw)

        def then(visit: Visit | None) -> DecisionReads:
            return _reads(visit, ask) if visit is not None else DecisionReads()

        plausible = _plausible(visit_id)
        return self._store.reading_ahead_of_decision(visit_id if plausible else None, then)

    def decide(
        self, assistant: Staff, visit_id: str, raw: bytes, now: datetime
    ) -> tuple[dict[str, Any], bool]:
        """(the visit with its decision, created). Repeating the decision in
        force answers it again (created False) after finishing its writes."""
        ask = validated(_Decide, raw)
        if ask.replaces is not None and ask.reason is None:
            raise Failed(invalid(FieldError("reason", "required when correcting a decision")))
        visit = visit_or_404(self._store, visit_id)
        key = visit.customer_key
        if key is None:
            raise customer_unknown()
        if not _repeats(visit, ask.registration_id, ask.replaces) and _in_force(visit) != (
            ask.replaces
        ):
            raise superseded()
        # every read before the first write (made ahead by the route)
        reads = _reads(visit, ask)
        customer = self._store.get_customer(key) or Customer()
        record = self._store.registration_as_read(*reads.record) if reads.record else None
        audited = reads.audit is not None and self._store.audit_stored(reads.audit)
        self._store.done_reading_ahead()
        claim = self._confirm(assistant, visit, key, ask.registration_id, now, customer=customer)
        decision = Decision(
            decision_id=new_id("dc", now),
            registration_id=claim.registration_id,
            registrant_id=claim.registrant_id,
            source=claim.source,
            decided_by=assistant.staff_id,
            decided_at=now,
            replaces=ask.replaces,
            reason=ask.reason,
        )
        with _decided_if_unavailable():  # the customer may hold the decision already
            visit, created = self._record(visit, key, decision, now)
            in_force = visit.decision
            assert in_force is not None
            entry = _decided_entry(key, visit.visit_id, in_force)
            if created:
                count("OwnershipDecided", source=claim.source.value)
            written = audited and reads.audit is not None and _same_entry(reads.audit, entry)
            unwritten = None if written else entry
            self._follow(claim, visit, unwritten, now, created=created, record=record)
        return visit_view(visit, now, self._zone), created

    def _confirm(
        self,
        assistant: Staff,
        visit: Visit,
        key: str,
        registration_id: str,
        now: datetime,
        *,
        customer: Customer,
    ) -> Claim:
        """The claim the decision names; a distribution hold this visit
        confirms becomes a protection from the visit, in one conditional
        write on the customer (as read: ``customer``)."""
        for _ in range(MAX_ATTEMPTS):
            outcome = claim_for_decision(customer, registration_id, visit, now, self._zone)
            if isinstance(outcome, Refusal):
                raise self._refused(outcome, assistant, visit, registration_id, now)
            if outcome.source is not Source.DISTRIBUTION or outcome.protection is not None:
                return outcome
            claim = confirmed(outcome, visit, self._policy)
            claims = tuple(
                claim if c.registration_id == claim.registration_id else c for c in customer.claims
            )
            try:
                assert customer.phone is not None  # it has this claim, so it is stored
                self._customers.commit(key, customer.phone, replace(customer, claims=claims), now)
            except VersionConflict as conflict:
                customer = conflict.current or self._store.get_customer(key) or Customer()
                continue
            logger.info(
                "distribution visit confirmed",
                extra={"registration_id": claim.registration_id, "visit_id": visit.visit_id},
            )
            count("DistributionVisitConfirmed")
            return claim
        raise StoreUnavailable("too much contention on one customer")

    def _refused(
        self, refusal: Refusal, assistant: Staff, visit: Visit, registration_id: str, now: datetime
    ) -> Failed:
        """The visit stays logged; it is not recognized for this claim."""
        assert visit.customer_key is not None
        audit.record(
            self._store,
            customer_subject(visit.customer_key),
            "ownership.refused",
            now,
            assistant.staff_id,
            rule=refusal.rule,
            code=refusal.code,
            registration_id=registration_id,
            detail=f"visit {visit.visit_id}",
        )
        count("OwnershipRefused", rule=refusal.rule or "none", code=refusal.code)
        return Failed(from_refusal(refusal))

    def _record(
        self, visit: Visit, key: str, decision: Decision, now: datetime
    ) -> tuple[Visit, bool]:
        """The decision on the visit as read (``visit``), unless it is there."""

        def append(visit: Visit) -> Visit | None:
            if visit.customer_key != key:
                raise superseded()  # the visit's customer changed meanwhile (a sign-in)
            if _repeats(visit, decision.registration_id, decision.replaces):
                return None  # the same decision, by a retry or a second assistant
            if _in_force(visit) != decision.replaces:
                raise superseded()  # another decision was recorded meanwhile
            return visit.with_decision(decision)

        return change_visit(self._store, visit.visit_id, append, now, read=visit)

    def _follow(
        self,
        claim: Claim,
        visit: Visit,
        entry: AuditEntry | None,
        now: datetime,
        *,
        created: bool,
        record: RecordAsRead | None,
    ) -> None:
        """What follows the decision in force: its audit entry (``entry``,
        None: stored already) and, when this visit confirmed the claim, the
        registrant's record showing the protection and the agency's
        ``registration.protected`` event, in one batch of plain puts."""
        if entry is not None and not created:
            # a repeat finishing a request that died: once, whoever else does
            self._store.append_audit(entry, once=True)
            entry = None
        rewrite: tuple[RecordAsRead, Claim, datetime] | None = None
        event: Event | None = None
        if claim.confirmed_visit_id == visit.visit_id:
            planned = self._publication(claim, visit, record, now)
            if planned is None:
                self._publish(claim, now)  # the conditional writes of store/feed.py
            else:
                rewrite, event = planned
        self._store.save_decision_records(rewrite, event, entry)
        if event is not None:
            count("EventPublished", type="registration.protected")

    def _publication(
        self, claim: Claim, visit: Visit, record: RecordAsRead | None, now: datetime
    ) -> tuple[tuple[RecordAsRead, Claim, datetime] | None, Event | None] | None:
        """What this request writes so the registrant sees the protection:
        the record as read with the claim and the event's position, and the
        event (None each: written already). None: leave it to the conditional
        writes of ``_publish``.

        The position is the time of the visit's first decision naming the
        claim: every request that finishes it (the first, a retry, a second
        assistant, a correction) derives the same one, so plain puts write one
        event. Only within the feed's settle delay of that time (decision
        0002); later, a position still to be written is fixed, and a missing
        event moved ahead of the cursors, by ``_publish``, as is a position a
        late writer moved already. The record was read before the customer's
        write (it is created before its claim can be confirmed: 30 minutes
        before the visit at least); a position another writer stamps on it
        meanwhile is overwritten (docs/benchmarks.md, "The 判客 decision")."""
        first = next(d for d in visit.decisions if d.registration_id == claim.registration_id)
        at = first.decided_at
        event = _protected_event(claim, at)
        ours = (claim.registrant_id, claim.registration_id)
        if record is None or (record.registrant_id, record.registration_id) != ours:
            return None  # not written (its request died): as _publish finds it
        fresh = now - at <= self._settle
        if record.protected_recorded_at is None:
            return ((record, claim, at), event) if fresh else None
        if record.protected_recorded_at != at:
            return None  # moved by a late writer
        if self._store.event_stored(event):
            return None, None
        return (None, event) if fresh else None

    def _publish(self, claim: Claim, now: datetime) -> None:
        """The registrant's record shows the protection, and its feed gets
        ``registration.protected`` once, at one position."""
        protection = claim.protection
        assert protection is not None

        def event_at(recorded_at: datetime) -> Event:
            return _protected_event(claim, recorded_at)

        if self._store.publish(claim, "registration.protected", event_at, now, self._settle):
            count("EventPublished", type="registration.protected")


def _protected_event(claim: Claim, recorded_at: datetime) -> Event:
    """The agency's ``registration.protected``: only a distribution claim is
    confirmed by a visit, and it then has its protection."""
    event = protected_event(claim, recorded_at=recorded_at)
    assert event is not None
    return event


def _decided_entry(key: str, visit_id: str, decision: Decision) -> AuditEntry:
    """The customer's trail records the decision once (its id derives from it)."""
    return audit.entry(
        customer_subject(key),
        "ownership.decided",
        decision.decided_at,
        decision.decided_by,
        rule="R-FLOOR-2",
        registration_id=decision.registration_id,
        detail=f"visit {visit_id}; decision {decision.decision_id}"
        + (f"; replaces {decision.replaces}" if decision.replaces else ""),
        entry_id=derived_id("au", decision.decision_id, "decided"),
    )


def _same_entry(a: AuditEntry, b: AuditEntry) -> bool:
    return (a.subject, a.entry_id, a.at) == (b.subject, b.entry_id, b.at)


def _plausible(visit_id: str) -> bool:
    return visit_id.startswith("vi_") and len(visit_id) <= 64


def _asked(raw: bytes) -> _Decide | None:
    """The decision a body asks for, if it is a valid one."""
    if len(raw) > MAX_BODY_BYTES:
        return None
    try:
        return validated(_Decide, raw)
    except Failed:
        return None


def _reads(visit: Visit, ask: _Decide | None) -> DecisionReads:
    """What deciding ``ask`` on ``visit`` reads besides the visit: the customer;
    the record of the registration, if its agency accompanied the visit (a
    hold this visit may confirm); the audit entry of the decision in force,
    if ``ask`` repeats it (a retry finishing a request that died)."""
    key = visit.customer_key
    if key is None:
        return DecisionReads()
    record = audit_entry = None
    if ask is not None and visit.accompanied_by is not None:
        record = (visit.accompanied_by, ask.registration_id)
    if ask is not None and visit.decision and _repeats(visit, ask.registration_id, ask.replaces):
        audit_entry = _decided_entry(key, visit.visit_id, visit.decision)
    return DecisionReads(key, record, audit_entry)


def _in_force(visit: Visit) -> str | None:
    return visit.decision.decision_id if visit.decision else None


def _repeats(visit: Visit, registration_id: str, replaces: str | None) -> bool:
    current = visit.decision
    return (
        current is not None
        and current.registration_id == registration_id
        and current.replaces == replaces
    )


@contextmanager
def _decided_if_unavailable() -> Iterator[None]:
    """After the customer write the decision stands: a store failure then
    must say so, and how to finish it."""
    try:
        yield
    except StoreUnavailable as exc:
        raise Failed(
            Problem(
                "UNAVAILABLE",
                "The decision was taken but not all of its records were saved. "
                "Send the same decision again to finish it.",
                retry_after=5,
            )
        ) from exc

"""判客: the channel assistant decides which recommender owns a visit's
customer (R-FLOOR-2), and a distribution agency's accompanied visit confirms
its provisional hold (R-REG-3).

Order of writes, each one safe to redo: the customer first (the decisive
write: a hold becomes a protection from the visit), then the decision on the
visit, then the registrant's record and its ``registration.protected`` event.
A retry of the same decision finishes whatever a died request left undone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.errors import Failed, FieldError, Problem, StoreUnavailable, from_refusal
from chalicelib.errors import validation_error as invalid
from chalicelib.observability import count, logger
from chalicelib.rules.claims import Claim, Customer, Source
from chalicelib.rules.floor import Decision, Visit, claim_for_decision, confirmed
from chalicelib.rules.records import Event
from chalicelib.rules.refusals import Refusal
from chalicelib.rules.staff import Staff
from chalicelib.services import audit
from chalicelib.services.customers import Customers
from chalicelib.services.floor.visits import change_visit, customer_unknown, visit_or_404
from chalicelib.services.ids import derived_id, new_id
from chalicelib.services.registration.intake import Id, Reason, validated
from chalicelib.services.registration.registrations import customer_subject
from chalicelib.services.views import visit_view
from chalicelib.settings import Settings
from chalicelib.store import Store, VersionConflict

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
        claim = self._confirm(assistant, visit, key, ask.registration_id, now)
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
            visit, created = self._record(visit_id, key, decision, now)
            in_force = visit.decision
            assert in_force is not None
            audit.record(
                self._store,
                customer_subject(key),
                "ownership.decided",
                in_force.decided_at,
                in_force.decided_by,
                rule="R-FLOOR-2",
                registration_id=in_force.registration_id,
                detail=f"visit {visit_id}; decision {in_force.decision_id}"
                + (f"; replaces {in_force.replaces}" if in_force.replaces else ""),
                entry_id=derived_id("au", in_force.decision_id, "decided"),
            )
            if created:
                count("OwnershipDecided", source=claim.source.value)
            if claim.confirmed_visit_id == visit_id:
                self._publish(claim, now)
        return visit_view(visit, now, self._zone), created

    def _confirm(
        self, assistant: Staff, visit: Visit, key: str, registration_id: str, now: datetime
    ) -> Claim:
        """The claim the decision names; a distribution hold this visit
        confirms becomes a protection from the visit, in one conditional
        write on the customer."""
        customer = self._store.get_customer(key) or Customer()
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
        self, visit_id: str, key: str, decision: Decision, now: datetime
    ) -> tuple[Visit, bool]:
        def append(visit: Visit) -> Visit | None:
            if visit.customer_key != key:
                raise superseded()  # the visit's customer changed meanwhile (a sign-in)
            if _repeats(visit, decision.registration_id, decision.replaces):
                return None  # the same decision, by a retry or a second assistant
            if _in_force(visit) != decision.replaces:
                raise superseded()  # another decision was recorded meanwhile
            return visit.with_decision(decision)

        return change_visit(self._store, visit_id, append, now)

    def _publish(self, claim: Claim, now: datetime) -> None:
        """The registrant's record shows the protection, and its feed gets
        ``registration.protected`` once, at one position."""
        protection = claim.protection
        assert protection is not None

        def event_at(recorded_at: datetime) -> Event:
            return Event(
                event_id=derived_id("ev", claim.registration_id, "registration.protected"),
                type="registration.protected",
                registrant_id=claim.registrant_id,
                registration_id=claim.registration_id,
                occurred_at=protection.starts_at,
                recorded_at=recorded_at,
            )

        if self._store.publish(claim, "registration.protected", event_at, now, self._settle):
            count("EventPublished", type="registration.protected")


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

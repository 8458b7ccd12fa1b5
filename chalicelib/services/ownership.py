"""判客: the channel assistant decides which recommender owns a visit's
customer (R-FLOOR-2), and a distribution agency's accompanied visit confirms
its provisional hold (R-REG-3).

Order of writes, each one safe to redo: the customer first (the decisive
write: a hold becomes a protection from the visit), then the decision on the
visit, then the registrant's record and its ``registration.protected`` event.
A retry of the same decision finishes whatever a died request left undone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
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
from chalicelib.settings import Settings
from chalicelib.store import Store, VersionConflict

from . import audit
from .ids import derived_id, new_id
from .intake import validated
from .registrations import customer_subject
from .views import visit_view
from .visits import Id, Reason, change_visit, customer_unknown, visit_or_404

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
        current = visit.decision
        repeated = (
            current is not None
            and current.registration_id == ask.registration_id
            and current.replaces == ask.replaces
        )
        if not repeated and (current.decision_id if current else None) != ask.replaces:
            raise superseded()
        claim = self._confirm(assistant, visit, key, ask.registration_id, now)
        if not repeated:
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
            visit = self._record(visit_id, decision, ask.replaces, now)
            audit.record(
                self._store,
                customer_subject(key),
                "ownership.decided",
                now,
                assistant.staff_id,
                rule="R-FLOOR-2",
                registration_id=claim.registration_id,
                detail=f"visit {visit_id}; decision {decision.decision_id}"
                + (f"; replaces {ask.replaces}" if ask.replaces else ""),
            )
            count("OwnershipDecided", source=claim.source.value)
        if claim.confirmed_visit_id == visit_id:
            self._publish(claim, now)
        return visit_view(visit, now, self._zone), not repeated

    def _confirm(
        self, assistant: Staff, visit: Visit, key: str, registration_id: str, now: datetime
    ) -> Claim:
        """The claim the decision names; a distribution hold this visit
        confirms becomes a protection from the visit, in one conditional
        write on the customer."""
        customer = self._store.get_customer(key) or Customer()
        for _ in range(MAX_ATTEMPTS):
            outcome = claim_for_decision(customer, registration_id, visit, now)
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
                self._store.commit_customer(
                    key, customer.phone, replace(customer, claims=claims), now
                )
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
        self, visit_id: str, decision: Decision, replaces: str | None, now: datetime
    ) -> Visit:
        def append(visit: Visit) -> Visit:
            current = visit.decision
            if (current.decision_id if current else None) != replaces:
                raise superseded()  # another assistant decided meanwhile
            return visit.with_decision(decision)

        return change_visit(self._store, visit_id, append, now)[0]

    def _publish(self, claim: Claim, now: datetime) -> None:
        """The registrant's record shows the protection, and its feed gets
        ``registration.protected`` once, at one position."""
        record = self._store.get_registration(claim.registrant_id, claim.registration_id)
        if record is None or claim.protection is None:
            return  # its request died; the retry that writes it copies the claim
        recorded_at = self._store.record_protection(replace(record, claim=claim), now)
        if recorded_at is None:
            return
        self._store.put_event(
            Event(
                event_id=derived_id("ev", claim.registration_id, "registration.protected"),
                type="registration.protected",
                registrant_id=claim.registrant_id,
                registration_id=claim.registration_id,
                occurred_at=claim.protection.starts_at,
                recorded_at=recorded_at,
            )
        )

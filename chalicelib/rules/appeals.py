"""Appeals of a 判客 decision (申诉), decision 0012: who may appeal, until
when, once; what a reversal does to the customer. Pure: no clock, no I/O;
every refusal carries its rule id (R-APPEAL-1..6, defined in the ADR)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from .claims import Claim, Customer, Period, Source
from .floor import DECIDED_SOURCES, Decision, Visit
from .localtime import add_local_days
from .policy import Policy
from .refusals import Refusal, recommendation_limit
from .registration import protection_days


class AppealState(StrEnum):
    PENDING = "pending"
    REVERSING = "reversing"  # the reversal is taken; its writes are under way
    UPHELD = "upheld"
    REVERSED = "reversed"


class Outcome(StrEnum):
    UPHELD = "upheld"
    REVERSED = "reversed"


@dataclass(frozen=True)
class Appeal:
    appeal_id: str  # derived from (decision, claimant): R-APPEAL-3
    decision_id: str
    visit_id: str
    customer_key: str
    phone_masked: str | None
    decided_at: datetime  # the appealed decision's instant
    holder_id: str  # the registrant the decision named
    holder_registration_id: str
    claimant_id: str  # the registrant whose claim was passed over
    claimant_registration_id: str
    filed_by: str  # the registrant, or the sales manager for it
    filed_at: datetime
    reason: str
    state: AppealState = AppealState.PENDING
    answered_by: str | None = None
    answered_at: datetime | None = None
    answer_reason: str | None = None
    new_registration_id: str | None = None  # the appellant's claim, on a reversal
    idempotency_key: str | None = None
    request_hash: str | None = None
    # the feed position of its answer's events when a retry wrote them after
    # the feed's settle delay (ahead of every cursor handed out meanwhile)
    events_at: datetime | None = None
    version: int | None = None  # None: not yet stored

    @property
    def settled(self) -> bool:
        return self.state in (AppealState.UPHELD, AppealState.REVERSED)


# -- R-APPEAL-1..4: may this claimant appeal this decision now? -----------------


def window_ends_at(decided_at: datetime, policy: Policy) -> datetime:
    """R-APPEAL-2: the same local time ``appeal_window_days`` local days later
    (exclusive)."""
    return add_local_days(decided_at, policy.appeal_window_days, policy.zone)


def passed_over_claim(
    customer: Customer, visit: Visit, decision: Decision, claimant_id: str
) -> Claim | None:
    """R-APPEAL-1: the claimant's claim the decision passed over: made before
    it, not the one it named, and live at the visit's arrival, or named by a
    decision it replaced, or (the claimant brought the customer) its latest."""
    if claimant_id == decision.registrant_id:
        return None
    mine = [
        c
        for c in customer.claims
        if c.registrant_id == claimant_id
        and c.source in DECIDED_SOURCES
        and c.created_at <= decision.decided_at
        and c.registration_id != decision.registration_id
    ]
    earlier = _replaced_by(visit, decision)
    for claim in reversed(mine):
        if claim.is_live(visit.arrived_at) or claim.registration_id in earlier:
            return claim
    if mine and visit.accompanied_by == claimant_id:
        return mine[-1]
    return None


def _replaced_by(visit: Visit, decision: Decision) -> set[str]:
    """The registrations named by the decisions ``decision`` replaced, in turn."""
    by_id = {d.decision_id: d for d in visit.decisions}
    named: set[str] = set()
    step = decision.replaces
    while step is not None and step in by_id:
        named.add(by_id[step].registration_id)
        step = by_id[step].replaces
    return named


def superseded(why: str) -> Refusal:
    return Refusal("DECISION_SUPERSEDED", "R-APPEAL-4", why)


def changed_since(customer: Customer, visit: Visit, decision: Decision) -> Refusal | None:
    """R-APPEAL-4: the decision is no longer in force, or the customer moved on."""
    if visit.decision is None or visit.decision.decision_id != decision.decision_id:
        return superseded("A later decision replaced this one on its visit.")
    return customer_moved_on(customer, decision)


def customer_moved_on(customer: Customer, decision: Decision) -> Refusal | None:
    named = next(
        (c for c in customer.claims if c.registration_id == decision.registration_id), None
    )
    if named is None:
        return superseded("The decision's claim is no longer on the customer.")
    if customer.deal is not None or named.converted_at is not None:
        return superseded("A deal was recorded for the customer.")
    if any(c.created_at > decision.decided_at for c in customer.claims):
        return superseded("The customer was registered again after the decision.")
    return None


def check_appeal(
    customer: Customer,
    visit: Visit,
    decision: Decision,
    claimant_id: str,
    *,
    now: datetime,
    policy: Policy,
) -> Claim | Refusal:
    """The claimant's passed-over claim, or why it may not appeal now."""
    if now >= window_ends_at(decision.decided_at, policy):
        return Refusal(
            "APPEAL_WINDOW_CLOSED",
            "R-APPEAL-2",
            f"A decision may be appealed within {policy.appeal_window_days} days of it.",
        )
    claim = passed_over_claim(customer, visit, decision, claimant_id)
    if claim is None:
        return Refusal(
            "NOT_PASSED_OVER",
            "R-APPEAL-1",
            "Only a recommender whose claim this decision passed over may appeal it.",
        )
    return changed_since(customer, visit, decision) or claim


def already_appealed() -> Refusal:
    return Refusal(
        "APPEAL_EXISTS", "R-APPEAL-3", "This claim has already been appealed against this decision."
    )


# -- R-APPEAL-5: the site manager's answer --------------------------------------


def answered(
    appeal: Appeal, outcome: Outcome, by: str, reason: str, now: datetime
) -> Appeal | Refusal | None:
    """The appeal with its answer taken (None: this same answer is taken
    already, a retry)."""
    target = AppealState.UPHELD if outcome is Outcome.UPHELD else AppealState.REVERSING
    if appeal.state is AppealState.PENDING:
        return replace(appeal, state=target, answered_by=by, answered_at=now, answer_reason=reason)
    same = appeal.answer_reason == reason and appeal.answered_by == by
    if same and (
        appeal.state is target
        or (outcome is Outcome.REVERSED and appeal.state is AppealState.REVERSED)
    ):
        return None
    return Refusal("APPEAL_ALREADY_DECIDED", "R-APPEAL-5", "The appeal has been answered already.")


# -- R-APPEAL-6: a reversal ------------------------------------------------------


def reversed_customer(
    customer: Customer,
    appeal: Appeal,
    decision: Decision,
    claimant_kind: Source,
    policy: Policy,
) -> Customer | Refusal:
    """The customer with the decided claim's protection ended at the decision
    and no longer counted (R-PROT-1), and the appellant's claim protected from
    the decision for R-PROT-2's length, with the ordinal the decided claim had
    (or the next). The caller checks first that it is not there already."""
    refusal = customer_moved_on(customer, decision)
    if refusal is not None:
        return refusal
    assert appeal.new_registration_id is not None
    named = next(c for c in customer.claims if c.registration_id == decision.registration_id)
    at = decision.decided_at
    others = sum(1 for c in customer.claims if c is not named and c.counts_toward_limit())
    ordinal = named.ordinal if named.ordinal is not None else others + 1
    if ordinal > policy.max_recommendations:
        return recommendation_limit()
    ends = add_local_days(at, protection_days(claimant_kind, ordinal, policy), policy.zone)
    cut = Period(named.protection.starts_at, at) if named.protection else None
    overturned = replace(named, protection=cut, ordinal=None, visit_window=named.visit_window)
    if named.protection is None:  # a hold: ended at the decision
        overturned = replace(overturned, held_until=None, visit_window=_ended(named, at))
    moved = Claim(
        registration_id=appeal.new_registration_id,
        registrant_id=appeal.claimant_id,
        source=claimant_kind,
        created_at=at,
        ordinal=ordinal,
        protection=Period(at, ends),
        confirmed_visit_id=appeal.visit_id if claimant_kind is Source.DISTRIBUTION else None,
        idempotency_key=appeal_key(appeal.appeal_id),
    )
    claims = tuple(overturned if c is named else c for c in customer.claims)
    return replace(customer, claims=(*claims, moved))


def _ended(claim: Claim, at: datetime) -> Period | None:
    window = claim.visit_window
    return Period(window.starts_at, min(window.ends_at, at)) if window else None


def appeal_key(appeal_id: str) -> str:
    """What the appellant's claim records as its creator (a retry finds it)."""
    return f"appeal:{appeal_id}"


def moved_claim(customer: Customer, appeal: Appeal) -> Claim | None:
    """The appellant's claim a reversal of ``appeal`` made, if made."""
    return next(
        (c for c in customer.claims if c.idempotency_key == appeal_key(appeal.appeal_id)), None
    )

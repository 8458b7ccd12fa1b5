"""The sales-office floor (R-FLOOR-2..5, R-REG-3): one visit, from the front
desk's greeting to the viewing confirmation form.

A visit is one household's visit and the unit of consistency on the floor:
its decisions, its consultant, its form or exemption change together, in one
conditional write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from .claims import Claim, Customer, Period, Source
from .localtime import add_local_days, at_local_time
from .policy import Policy
from .refusals import Refusal
from .registration import protection_days

# 判客 decides between recommenders; brokers' customers and walk-ins are led
# by the consultant on duty (R-FLOOR-2).
DECIDED_SOURCES = frozenset({Source.CHANNEL, Source.DISTRIBUTION, Source.ECOMMERCE})


class ExemptionKind(StrEnum):
    GIFT_ONLY = "gift_only"  # came only to collect a gift
    FLYER_IMPOSTOR = "flyer_impostor"  # red-hat flyer staff posing as a customer


class FormState(StrEnum):
    NOT_REQUIRED = "not_required"  # no recommender owns the visit
    PENDING = "pending"  # due by the end of the visit's local day
    OVERDUE = "overdue"
    FILED = "filed"
    EXEMPT = "exempt"


@dataclass(frozen=True)
class Decision:
    """判客: which registration owns the visit's customer. Never edited; a
    correction is a new decision that names the one it replaces."""

    decision_id: str
    registration_id: str
    registrant_id: str
    source: Source
    decided_by: str
    decided_at: datetime
    replaces: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Form:
    filed_by: str
    filed_at: datetime
    note: str | None


@dataclass(frozen=True)
class Exemption:
    kind: ExemptionKind
    signed_by: str
    signed_at: datetime
    note: str | None


@dataclass(frozen=True)
class Visit:
    visit_id: str
    group_id: str  # the arrival it belongs to: several households share one
    arrived_at: datetime
    day: date  # local date of arrival
    party_size: int
    greeted: bool  # R-FLOOR-2 / R-FINE-2: the greeting script was done
    logged_by: str
    led_in_by: str | None = None  # a consultant who led them before the greeting (R-FINE-1)
    accompanied_by: str | None = None  # the registrant or broker who came with them
    departed_at: datetime | None = None
    customer_key: str | None = None
    phone_masked: str | None = None
    customer_name: str | None = None
    signed_in_at: datetime | None = None
    signed_in_by: str | None = None
    consultant_id: str | None = None
    decisions: tuple[Decision, ...] = ()
    form: Form | None = None
    exemption: Exemption | None = None
    request_hash: str | None = None  # of the arrival request, for retries
    logged_at: datetime | None = None  # when the front desk logged it (None: at arrival)
    version: int | None = None  # None: not yet stored

    @property
    def decision(self) -> Decision | None:
        """The decision in force: the latest."""
        return self.decisions[-1] if self.decisions else None

    def with_decision(self, decision: Decision) -> Visit:
        return replace(self, decisions=(*self.decisions, decision))


# -- R-REG-3: does this visit confirm a distribution agency's hold? ------------


def visit_not_recognized(message: str) -> Refusal:
    return Refusal("VISIT_NOT_RECOGNIZED", "R-REG-3", message)


def check_distribution_visit(claim: Claim, visit: Visit) -> Refusal | None:
    """Accompanied by the registering agency, and inside the hold's window:
    from 30 minutes after registering until the window closes."""
    window = claim.visit_window
    if window is None:
        return visit_not_recognized("The registration has no visit window.")
    if visit.accompanied_by != claim.registrant_id:
        return visit_not_recognized(
            "A distribution visit counts only when the registering agency accompanies it."
        )
    if visit.arrived_at < window.starts_at:
        return visit_not_recognized(
            "The visit came too soon after the registration (at least 30 minutes are needed)."
        )
    if visit.arrived_at >= window.ends_at:
        return visit_not_recognized("The visit came after the registration's window closed.")
    # an arrival logged after the window closed and dated back into it proves nothing
    if (visit.logged_at or visit.arrived_at) >= window.ends_at:
        return visit_not_recognized("The visit was logged after the registration's window closed.")
    return None


def arrival_logged(
    customer: Customer, visit: Visit, now: datetime, zone: ZoneInfo
) -> Customer | None:
    """R-REG-3: an unvisited registration lapses when its window closes; a
    visited one does not. When the front desk's visit of this customer, logged
    inside a distribution hold's window and accompanied by its agency, becomes
    known on the customer (the phone at arrival, or the sign-in), the hold is
    kept until 判客 can no longer confirm it: the end of the visit's local day
    (``form_due_at``). Until then it neither lapses nor lets another
    recommender in (R-DUP-1).

    Recorded only while the hold is live and still the customer's latest
    claim, so it never revives a lapsed hold that another recommender has
    taken since. None: nothing to record."""
    latest = customer.claims[-1] if customer.claims else None
    if latest is None or visit.accompanied_by != latest.registrant_id:
        return None
    if latest.source is not Source.DISTRIBUTION or latest.protection is not None:
        return None
    if latest.held_until is not None or not latest.is_live(now):
        return None
    if check_distribution_visit(latest, visit) is not None:
        return None
    kept = replace(latest, arrival_visit_id=visit.visit_id, held_until=form_due_at(visit, zone))
    return replace(customer, claims=(*customer.claims[:-1], kept))


def confirmed(claim: Claim, visit: Visit, policy: Policy) -> Claim:
    """R-PROT-2: a distribution protection starts at the confirmed visit."""
    days = protection_days(claim.source, claim.ordinal, policy)
    starts = visit.arrived_at
    return replace(
        claim,
        protection=Period(starts, add_local_days(starts, days, policy.zone)),
        confirmed_visit_id=visit.visit_id,
    )


def claim_for_decision(
    customer: Customer, registration_id: str, visit: Visit, now: datetime, zone: ZoneInfo
) -> Claim | Refusal:
    """The claim a 判客 decision may name: this customer's, by a recommender
    the channel assistant decides for, live now (or, for a distribution hold,
    one this visit confirms)."""
    claim = next((c for c in customer.claims if c.registration_id == registration_id), None)
    if claim is None or claim.source not in DECIDED_SOURCES:
        return Refusal(
            "CLAIM_NOT_LIVE",
            "R-FLOOR-2",
            "The registration is not a channel, distribution or e-commerce claim on this customer.",
            "registration_id",
        )
    if claim.source is Source.DISTRIBUTION and claim.protection is None:
        return _confirmable(customer, claim, visit, now, zone)
    if claim.confirmed_visit_id == visit.visit_id or claim.is_live(now):
        return claim
    return _not_live()


def _confirmable(
    customer: Customer, claim: Claim, visit: Visit, now: datetime, zone: ZoneInfo
) -> Claim | Refusal:
    """R-REG-3: the visit confirms the hold, decided on the visit's own day,
    unless another recommender holds the customer by now."""
    refusal = check_distribution_visit(claim, visit)
    if refusal is None and now >= form_due_at(visit, zone):
        refusal = visit_not_recognized("判客 must come on the visit's own day to confirm it.")
    if refusal is not None:
        return refusal
    rival = customer.live_claim(now)
    if rival is not None and rival.registration_id != claim.registration_id:
        return _not_live()
    return claim


def _not_live() -> Refusal:
    return Refusal(
        "CLAIM_NOT_LIVE", "R-FLOOR-2", "The registration's claim is no longer live.", None
    )


# -- R-FLOOR-5: the viewing confirmation form -----------------------------------


def form_due_at(visit: Visit, zone: ZoneInfo) -> datetime:
    """Filed by the end of the visit's local day."""
    return at_local_time(visit.day + timedelta(days=1), _MIDNIGHT, zone)


def form_state(visit: Visit, now: datetime, zone: ZoneInfo) -> FormState:
    if visit.form is not None:
        return FormState.FILED
    if visit.exemption is not None:
        return FormState.EXEMPT
    if visit.decision is None:
        return FormState.NOT_REQUIRED
    return FormState.OVERDUE if now >= form_due_at(visit, zone) else FormState.PENDING


_MIDNIGHT = datetime.min.time()

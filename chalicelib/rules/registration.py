"""What a recommendation does to a customer (R-REG-2, R-REG-3, R-DUP-1, R-PROT-1..3).

``decide`` is the one place that decides; the service commits its answer in
one conditional write on the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .brokers import check_certified_before_deal
from .claims import Claim, Customer, Period, Source
from .localtime import add_local_days, at_local_time, local_date
from .policy import Policy
from .reclaim import visited
from .refusals import Refusal, duplicate_live_claim, recommendation_limit


@dataclass(frozen=True)
class Recommendation:
    """A registrant's request, already validated for shape."""

    registration_id: str
    registrant_id: str
    source: Source
    visit_at: datetime | None
    idempotency_key: str
    request_hash: str
    # R-REG-4: a crowd broker's certification time, for a broker's recommendation
    broker_certified_at: datetime | None = None


def decide(
    rec: Recommendation, customer: Customer, now: datetime, policy: Policy
) -> Claim | Refusal:
    """The claim the recommendation creates, or the rule that refuses it.

    Timing rules come first: they refuse on the request alone and so reveal
    nothing about the customer.
    """
    refused = _check_timing(rec, customer, now, policy) or _check_recognized(rec, customer)
    if refused is not None:
        return refused
    if customer.live_claim(now) is not None:
        return duplicate_live_claim()
    if rec.source is Source.CONSULTANT:
        # R-REG-1: a walk-in is the consultant's; no recommendation, no count
        return _claim(rec, now, None, protection=None, window=None)
    counts = rec.source is not Source.ECOMMERCE or policy.ecommerce_counts_toward_limit
    done = customer.recommendations()
    if counts and done >= policy.max_recommendations:
        return recommendation_limit()
    ordinal = done + 1 if counts else None
    if rec.source is Source.DISTRIBUTION:
        return _claim(rec, now, ordinal, protection=None, window=visit_window(now, policy))
    days = protection_days(rec.source, ordinal, policy)
    protection = Period(now, add_local_days(now, days, policy.zone))
    return _claim(rec, now, ordinal, protection=protection, window=None)


def registered(customer: Customer, claim: Claim, visit_at: datetime | None) -> Customer:
    """The customer with an accepted claim. A registration made at a visit
    (a channel's, a broker's, a walk-in's) is a visit (R-RECLAIM-1), and a
    walk-in becomes the registering consultant's."""
    with_claim = customer.with_claim(claim)
    if visit_at is None or claim.source is Source.DISTRIBUTION:
        return with_claim
    consultant = claim.registrant_id if claim.source is Source.CONSULTANT else None
    return visited(with_claim, visit_at, consultant, how="walk_in")


def protection_days(source: Source, ordinal: int | None, policy: Policy) -> int:
    """R-PROT-2: 60 days for the first recommendation, 30 for the second.

    R-PROT-3: an e-commerce report protects like a first recommendation; when
    it counts toward R-PROT-1 and comes second, it gets the second's length,
    so a customer is never protected longer than the two lengths together.
    """
    if ordinal is None or (source is Source.ECOMMERCE and ordinal == 1):
        return policy.ecommerce_protection_days
    return policy.first_protection_days if ordinal == 1 else policy.second_protection_days


def visit_window(registered_at: datetime, policy: Policy) -> Period:
    """R-REG-3: a visit counts from 30 minutes after registering, within 24 hours."""
    return Period(
        registered_at + timedelta(minutes=policy.distribution_min_lead_minutes),
        registered_at + timedelta(hours=policy.distribution_window_hours),
    )


# who registers on the day of the visit, and the rule that says so
_SAME_DAY_RULE = {
    Source.CHANNEL: "R-REG-2",
    Source.CONSULTANT: "R-REG-1",
    Source.BROKER: "R-REG-4",
}


def _check_timing(
    rec: Recommendation, customer: Customer, now: datetime, policy: Policy
) -> Refusal | None:
    if rec.source is Source.DISTRIBUTION:
        return _check_ahead_of_visit(rec.visit_at, now, policy)
    rule = _SAME_DAY_RULE.get(rec.source)
    if rule is not None:
        return check_same_day(rec.registrant_id, rec.visit_at, customer, now, policy, rule=rule)
    return None


def check_same_day(
    registrant_id: str,
    visit_at: datetime | None,
    customer: Customer,
    now: datetime,
    policy: Policy,
    *,
    rule: str = "R-REG-2",
) -> Refusal | None:
    """R-REG-1 / R-REG-2: registered on the local day of the visit.

    A late entry passes only with a sales manager's approval, and only until
    the cutoff (18:00) on the next local calendar day.
    """
    if visit_at is None:
        return Refusal("VALIDATION_ERROR", rule, "visit_at is required.", "visit_at")
    if visit_at > now + timedelta(minutes=policy.visit_clock_skew_minutes):
        return Refusal(
            "VALIDATION_ERROR",
            rule,
            "visit_at is in the future; register a visit once it has taken place.",
            "visit_at",
        )
    visit_day = local_date(visit_at, policy.zone)
    if local_date(now, policy.zone) == visit_day:
        return None
    approved = customer.approval_for(registrant_id, visit_day) is not None
    if approved and now < late_entry_cutoff(visit_day, policy):
        return None
    return Refusal(
        "REGISTRATION_TOO_LATE",
        rule,
        "A visit must be registered on its local day; a late entry needs a sales "
        "manager's approval and is accepted only until "
        f"{policy.late_entry_cutoff:%H:%M} the next day.",
    )


def late_entry_cutoff(visit_day: date, policy: Policy) -> datetime:
    """R-REG-1 / R-REG-2: the end of the next working day (18:00 local on the
    next calendar day): a late entry of ``visit_day`` is accepted until then."""
    return at_local_time(visit_day + timedelta(days=1), policy.late_entry_cutoff, policy.zone)


def check_late_approval(
    visit_day: date, now: datetime, policy: Policy, *, rule: str = "R-REG-2"
) -> Refusal | None:
    """R-REG-1 / R-REG-2: an approval made once its cutoff has passed would
    unlock nothing; it is refused rather than recorded, so that a manager is
    not told a late entry is now possible."""
    cutoff = late_entry_cutoff(visit_day, policy)
    if now < cutoff:
        return None
    return Refusal(
        "REGISTRATION_TOO_LATE",
        rule,
        "A late entry is accepted only until "
        f"{policy.late_entry_cutoff:%H:%M} on the day after the visit; for a visit on "
        f"{visit_day.isoformat()} that time has passed, so an approval would unlock nothing.",
    )


def _check_recognized(rec: Recommendation, customer: Customer) -> Refusal | None:
    """R-REG-4: a broker certified after the customer's deal is never
    recognized for them, which says more than "not now" (R-DUP-1)."""
    if rec.source is not Source.BROKER:
        return None
    return check_certified_before_deal(rec.broker_certified_at, customer.deal)


def _check_ahead_of_visit(
    visit_at: datetime | None, now: datetime, policy: Policy
) -> Refusal | None:
    if visit_at is None:
        return Refusal("VALIDATION_ERROR", "R-REG-3", "visit_at is required.", "visit_at")
    if visit_at - now < timedelta(minutes=policy.distribution_min_lead_minutes):
        return Refusal(
            "TOO_CLOSE_TO_VISIT",
            "R-REG-3",
            "A distribution agency registers at least "
            f"{policy.distribution_min_lead_minutes} minutes before the visit.",
        )
    # the window is half-open: a visit at its very end would not be recognized
    if visit_at - now >= timedelta(hours=policy.distribution_window_hours):
        return Refusal(
            "VALIDATION_ERROR",
            "R-REG-3",
            f"visit_at must be within {policy.distribution_window_hours} hours of registering.",
            "visit_at",
        )
    return None


def _claim(
    rec: Recommendation,
    now: datetime,
    ordinal: int | None,
    *,
    protection: Period | None,
    window: Period | None,
) -> Claim:
    return Claim(
        registration_id=rec.registration_id,
        registrant_id=rec.registrant_id,
        source=rec.source,
        created_at=now,
        ordinal=ordinal,
        protection=protection,
        visit_window=window,
        idempotency_key=rec.idempotency_key,
        request_hash=rec.request_hash,
    )

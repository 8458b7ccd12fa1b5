"""成交: a deal is credited at its instant (R-RECLAIM-1, R-PROT-2).

To the consultant who owns the customer then (after a reassignment from the
pool: the new one; the original gets nothing), and to the recommender whose
protection is live then, if any: that registration becomes ``converted``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from .claims import Claim, Customer, Deal, Source, Status
from .refusals import Refusal


def recorded_deal(customer: Customer, at: datetime, by: str) -> Customer | Refusal:
    if customer.deal is not None:
        return Refusal(
            "ALREADY_RECORDED", "R-RECLAIM-1", "A deal is already recorded for the customer."
        )
    credited = credited_recommendation(customer, at)
    deal = Deal(
        at=at,
        recorded_by=by,
        consultant_id=customer.consultant_at(at),
        registration_id=credited.registration_id if credited else None,
        registrant_id=credited.registrant_id if credited else None,
    )
    claims = tuple(
        replace(c, converted_at=at)
        if credited and c.registration_id == credited.registration_id
        else c
        for c in customer.claims
    )
    return replace(customer, deal=deal, claims=claims)


def credited_recommendation(customer: Customer, at: datetime) -> Claim | None:
    """The recommender's protection live at ``at`` (a provisional hold that
    never got its visit is not a protection)."""
    return next(
        (
            c
            for c in customer.claims
            if c.source is not Source.CONSULTANT and c.status(at) is Status.PROTECTED
        ),
        None,
    )

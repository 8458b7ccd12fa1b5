"""Small builders so the rule tests read like the rulebook."""

from __future__ import annotations

import itertools
from datetime import datetime

from chalicelib.rules.claims import Claim, Customer, LateApproval, Source
from chalicelib.rules.policy import Policy
from chalicelib.rules.refusals import Refusal
from chalicelib.rules.registration import Recommendation, decide
from tests.support import shanghai

POLICY = Policy()
_ids = itertools.count(1)


def recommend(
    customer: Customer,
    now: datetime,
    *,
    source: Source = Source.CHANNEL,
    registrant: str = "reg_a",
    visit_at: datetime | None = None,
    policy: Policy = POLICY,
    broker_certified_at: datetime | None = None,
) -> Claim | Refusal:
    if visit_at is None and source is not Source.ECOMMERCE:
        visit_at = now
    rec = Recommendation(
        registration_id=f"rg_{next(_ids):06d}",
        registrant_id=registrant,
        source=source,
        visit_at=visit_at,
        idempotency_key=f"key-{next(_ids)}",
        request_hash="h",
        broker_certified_at=broker_certified_at,
    )
    return decide(rec, customer, now, policy)


def accepted(customer: Customer, now: datetime, **kw: object) -> tuple[Customer, Claim]:
    outcome = recommend(customer, now, **kw)  # type: ignore[arg-type]
    assert isinstance(outcome, Claim), outcome
    return customer.with_claim(outcome), outcome


def refused(customer: Customer, now: datetime, **kw: object) -> Refusal:
    outcome = recommend(customer, now, **kw)  # type: ignore[arg-type]
    assert isinstance(outcome, Refusal), outcome
    return outcome


def approval(registrant: str, visit: str) -> LateApproval:
    at = shanghai(visit)
    return LateApproval(registrant, at.astimezone(POLICY.zone).date(), at, "mgr_1", "late")


__all__ = ["POLICY", "Customer", "accepted", "approval", "recommend", "refused", "shanghai"]

"""The appeal rules (decision 0012: R-APPEAL-1..6), pure: no store, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chalicelib.rules.appeals import (
    Appeal,
    AppealState,
    Outcome,
    answered,
    check_appeal,
    moved_claim,
    passed_over_claim,
    reversed_customer,
    window_ends_at,
)
from chalicelib.rules.claims import Claim, Customer, Deal, Period, Source, Status
from chalicelib.rules.floor import Decision, Visit
from chalicelib.rules.policy import Policy
from chalicelib.rules.refusals import Refusal
from tests.support import shanghai

POLICY = Policy()
DECIDED = shanghai("2027-01-27 10:00")
ARRIVED = shanghai("2027-01-27 09:50")


def claim(rid: str, who: str, at, days: int | None = 60, ordinal: int | None = 1) -> Claim:  # type: ignore[no-untyped-def]
    protection = Period(at, at + timedelta(days=days)) if days else None
    return Claim(rid, who, Source.CHANNEL, at, ordinal, protection)


EARLIER = claim("rg_a", "reg_a", DECIDED - timedelta(days=70))  # ended
HELD = claim("rg_b", "reg_b", DECIDED - timedelta(hours=1), days=30, ordinal=2)
CUSTOMER = Customer(claims=(EARLIER, HELD), version=3, phone="13812345678")
DECISION = Decision("dc_1", "rg_b", "reg_b", Source.CHANNEL, "stf_as", DECIDED)
VISIT = Visit(
    visit_id="vi_1",
    group_id="gr_1",
    arrived_at=ARRIVED,
    day=ARRIVED.date(),
    party_size=1,
    greeted=True,
    logged_by="stf_desk",
    accompanied_by="reg_a",
    customer_key="key",
    decisions=(DECISION,),
)
APPEAL = Appeal(
    appeal_id="ap_1",
    decision_id="dc_1",
    visit_id="vi_1",
    customer_key="key",
    phone_masked="138****5678",
    decided_at=DECIDED,
    holder_id="reg_b",
    holder_registration_id="rg_b",
    claimant_id="reg_a",
    claimant_registration_id="rg_a",
    filed_by="reg_a",
    filed_at=DECIDED + timedelta(hours=1),
    reason="我司带访",
    new_registration_id="rg_moved",
)


def refused(outcome: object) -> tuple[str, str | None]:
    assert isinstance(outcome, Refusal), outcome
    return outcome.code, outcome.rule


# -- R-APPEAL-1 ------------------------------------------------------------------


def test_the_registrant_who_brought_the_customer_was_passed_over():
    assert passed_over_claim(CUSTOMER, VISIT, DECISION, "reg_a") == EARLIER


def test_the_holder_was_not_passed_over():
    outcome = check_appeal(CUSTOMER, VISIT, DECISION, "reg_b", now=DECIDED, policy=POLICY)
    assert refused(outcome) == ("NOT_PASSED_OVER", "R-APPEAL-1")


def test_a_registrant_without_a_claim_was_not_passed_over():
    assert passed_over_claim(CUSTOMER, VISIT, DECISION, "reg_c") is None


def test_an_old_claim_of_a_registrant_that_did_not_come_was_not_passed_over():
    elsewhere = replace(VISIT, accompanied_by=None)
    assert passed_over_claim(CUSTOMER, elsewhere, DECISION, "reg_a") is None


def test_a_claim_named_by_a_replaced_decision_was_passed_over():
    first = Decision("dc_0", "rg_a", "reg_a", Source.CHANNEL, "stf_as", DECIDED)
    second = replace(DECISION, decision_id="dc_1", replaces="dc_0")
    visit = replace(VISIT, accompanied_by=None, decisions=(first, second))
    assert passed_over_claim(CUSTOMER, visit, second, "reg_a") == EARLIER


# -- R-APPEAL-2 ------------------------------------------------------------------


def test_an_appeal_after_three_days_is_refused():
    late = DECIDED + timedelta(days=3)
    outcome = check_appeal(CUSTOMER, VISIT, DECISION, "reg_a", now=late, policy=POLICY)
    assert refused(outcome) == ("APPEAL_WINDOW_CLOSED", "R-APPEAL-2")


def test_the_window_is_open_until_the_instant_it_closes():
    end = window_ends_at(DECIDED, POLICY)
    assert end == shanghai("2027-01-30 10:00")
    just_in = end - timedelta(seconds=1)
    assert check_appeal(CUSTOMER, VISIT, DECISION, "reg_a", now=just_in, policy=POLICY) == EARLIER
    outcome = check_appeal(CUSTOMER, VISIT, DECISION, "reg_a", now=end, policy=POLICY)
    assert refused(outcome) == ("APPEAL_WINDOW_CLOSED", "R-APPEAL-2")


def test_the_window_is_a_policy_setting():
    one_day = Policy(appeal_window_days=1)
    at = DECIDED + timedelta(days=1)
    outcome = check_appeal(CUSTOMER, VISIT, DECISION, "reg_a", now=at, policy=one_day)
    assert refused(outcome)[1] == "R-APPEAL-2"


# -- R-APPEAL-4 ------------------------------------------------------------------


def test_a_corrected_decision_is_superseded():
    correction = replace(DECISION, decision_id="dc_2", replaces="dc_1")
    visit = replace(VISIT, decisions=(DECISION, correction))
    outcome = check_appeal(CUSTOMER, visit, DECISION, "reg_a", now=DECIDED, policy=POLICY)
    assert refused(outcome) == ("DECISION_SUPERSEDED", "R-APPEAL-4")


def test_a_deal_supersedes_the_decision():
    deal = Deal(DECIDED + timedelta(hours=2), "stf_m", None, "rg_b", "reg_b")
    sold = replace(CUSTOMER, deal=deal)
    outcome = check_appeal(sold, VISIT, DECISION, "reg_a", now=DECIDED, policy=POLICY)
    assert refused(outcome) == ("DECISION_SUPERSEDED", "R-APPEAL-4")


def test_a_registration_after_the_decision_supersedes_it():
    later = claim("rg_c", "reg_c", DECIDED + timedelta(days=31), days=30, ordinal=2)
    again = replace(CUSTOMER, claims=(*CUSTOMER.claims, later))
    outcome = reversed_customer(again, APPEAL, DECISION, Source.CHANNEL, POLICY)
    assert refused(outcome) == ("DECISION_SUPERSEDED", "R-APPEAL-4")


# -- R-APPEAL-5 ------------------------------------------------------------------


def test_an_appeal_is_answered_once():
    taken = answered(APPEAL, Outcome.UPHELD, "stf_site", "报备在先", DECIDED)
    assert isinstance(taken, Appeal) and taken.state is AppealState.UPHELD
    assert answered(taken, Outcome.UPHELD, "stf_site", "报备在先", DECIDED) is None
    outcome = answered(taken, Outcome.REVERSED, "stf_site", "改判", DECIDED)
    assert refused(outcome) == ("APPEAL_ALREADY_DECIDED", "R-APPEAL-5")


def test_a_reversal_is_taken_before_it_is_made():
    taken = answered(APPEAL, Outcome.REVERSED, "stf_site", "监控为证", DECIDED)
    assert isinstance(taken, Appeal) and taken.state is AppealState.REVERSING
    done = replace(taken, state=AppealState.REVERSED)
    assert answered(done, Outcome.REVERSED, "stf_site", "监控为证", DECIDED) is None


# -- R-APPEAL-6 ------------------------------------------------------------------


def test_a_reversal_moves_the_protection_as_of_the_decision():
    """The holder's 2nd protection ends at the decision and stops counting;
    the appellant's starts there, 2nd, 30 days (R-PROT-2)."""
    after = reversed_customer(CUSTOMER, APPEAL, DECISION, Source.CHANNEL, POLICY)
    assert isinstance(after, Customer)
    moved = moved_claim(after, APPEAL)
    assert moved is not None and moved.registrant_id == "reg_a"
    assert moved.ordinal == 2
    assert moved.protection == Period(DECIDED, shanghai("2027-02-26 10:00"))
    overturned = next(c for c in after.claims if c.registration_id == "rg_b")
    assert overturned.protection is not None and overturned.protection.ends_at == DECIDED
    assert not overturned.counts_toward_limit()
    assert after.recommendations() == 2  # the earlier one and the moved one
    now = DECIDED + timedelta(days=1)
    assert after.live_claim(now) == moved
    assert after.version == CUSTOMER.version  # committed on the version read


def test_a_reversal_whose_protection_has_passed_is_recorded_ended():
    later = DECIDED + timedelta(days=31)
    after = reversed_customer(CUSTOMER, APPEAL, DECISION, Source.CHANNEL, POLICY)
    assert isinstance(after, Customer)
    moved = moved_claim(after, APPEAL)
    assert moved is not None and moved.status(later) is Status.EXPIRED
    assert after.live_claim(later) is None


def test_a_reversal_keeps_to_the_recommendation_limit():
    """R-PROT-1: a decided report that did not count leaves no slot to move."""
    report = replace(HELD, source=Source.ECOMMERCE, ordinal=None)
    two = claim("rg_z", "reg_z", DECIDED - timedelta(days=200))
    full = replace(CUSTOMER, claims=(two, EARLIER, report))
    decision = replace(DECISION, source=Source.ECOMMERCE)
    outcome = reversed_customer(full, APPEAL, decision, Source.CHANNEL, POLICY)
    assert refused(outcome) == ("RECOMMENDATION_LIMIT", "R-PROT-1")

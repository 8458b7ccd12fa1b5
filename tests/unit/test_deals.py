"""成交 and the rules it meets: R-PROT-2 and R-DUP-1 (a deal ends no
protection), R-PROT-1 after it (decision 0005), R-RECLAIM-1 (credit)."""

from datetime import timedelta

from chalicelib.rules.claims import Customer, Source, Status
from chalicelib.rules.deals import recorded_deal
from tests.unit.rulebook import accepted, refused, shanghai

START = shanghai("2026-11-27 10:30")


def bought(customer: Customer, at):  # type: ignore[no-untyped-def]
    outcome = recorded_deal(customer, at, "mgr_1")
    assert isinstance(outcome, Customer), outcome
    return outcome


def test_a_deal_converts_the_protection_live_at_its_instant():
    """R-PROT-2 / R-RECLAIM-1: the recommender whose protection is live is credited."""
    customer, first = accepted(Customer(), START, registrant="reg_a")
    at = START + timedelta(days=10)
    after = bought(customer, at)
    assert after.deal is not None and after.deal.registration_id == first.registration_id
    (claim,) = after.claims
    assert claim.status(at) is Status.CONVERTED


def test_a_deal_does_not_end_the_protection_R_PROT_2():
    """R-PROT-2 / R-DUP-1: nothing in the rulebook ends a protection at a deal.
    Channel A registers, a deal is recorded 10 days later, channel B registers
    10 days after that: refused while A's 60 days last, to their last second."""
    customer, first = accepted(Customer(), START, registrant="reg_a")
    customer = bought(customer, START + timedelta(days=10))
    refusal = refused(customer, START + timedelta(days=20), registrant="reg_b")
    assert (refusal.code, refusal.rule) == ("DUPLICATE_LIVE_CLAIM", "R-DUP-1")
    last_second = first.protection.ends_at - timedelta(seconds=1)
    assert refused(customer, last_second, registrant="reg_b").rule == "R-DUP-1"
    assert customer.live_claim(last_second) == customer.claims[0]


def test_a_bought_customer_is_recommended_again_by_the_ordinary_rules_once_protection_ends():
    """Decision 0005 (R-DUP-1, R-PROT-1, R-PROT-2): after the protection ends,
    the deal neither refuses nor resets anything: the second recommendation
    gets 30 days, and a third is refused by the limit."""
    customer, first = accepted(Customer(), START, registrant="reg_a")
    customer = bought(customer, START + timedelta(days=10))
    end = first.protection.ends_at
    assert customer.live_claim(end) is None
    customer, second = accepted(customer, end, registrant="reg_b")
    assert (second.ordinal, second.protection.ends_at) == (2, end + timedelta(days=30))
    assert customer.deal.registration_id == first.registration_id  # the credit is unchanged
    refusal = refused(customer, second.protection.ends_at, registrant="reg_c")
    assert refusal.rule == "R-PROT-1"


def test_a_deal_made_after_the_protection_ended_credits_nobody_and_counts_nothing():
    """R-PROT-1: the one recommendation made still counts; the next is the second."""
    customer, first = accepted(Customer(), START, registrant="reg_a")
    end = first.protection.ends_at
    customer = bought(customer, end)
    assert customer.deal is not None and customer.deal.registration_id is None
    _, second = accepted(customer, end + timedelta(days=1), registrant="reg_b")
    assert second.ordinal == 2


def test_a_walk_in_who_bought_stays_the_consultants_and_blocks_recommendations():
    """R-DUP-1 with R-RECLAIM-1: a bought customer is never reclaimed, so a
    consultant's own-visit customer who bought stays that consultant's."""
    customer, _ = accepted(Customer(), START, source=Source.CONSULTANT, registrant="stf_1")
    customer = bought(customer, START + timedelta(days=1))
    refusal = refused(customer, START + timedelta(days=400), registrant="reg_b")
    assert refusal.rule == "R-DUP-1"

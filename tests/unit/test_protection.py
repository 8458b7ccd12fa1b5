"""R-PROT-1, R-PROT-2, R-PROT-3 and R-DUP-1 on the pure decision."""

from datetime import timedelta

from chalicelib.rules.claims import Claim, Customer, Source, Status
from chalicelib.rules.policy import Policy
from tests.unit.rulebook import accepted, refused, shanghai

START = shanghai("2026-11-27 10:30")


def test_first_recommendation_gets_60_days_ending_at_the_same_local_time():
    """R-PROT-2"""
    _, claim = accepted(Customer(), START)
    assert claim.ordinal == 1
    assert claim.protection.starts_at == START
    assert claim.protection.ends_at == shanghai("2027-01-26 10:30")


def test_protection_is_live_in_its_last_second_and_over_at_its_exact_end():
    """R-PROT-2: over at that instant, whether or not a clean-up job ran."""
    _, claim = accepted(Customer(), START)
    end = claim.protection.ends_at
    assert claim.status(end - timedelta(seconds=1)) is Status.PROTECTED
    assert claim.status(end - timedelta(microseconds=1)) is Status.PROTECTED
    assert claim.status(end) is Status.EXPIRED


def test_recommendation_during_protection_fails_as_duplicate():
    """R-DUP-1"""
    customer, claim = accepted(Customer(), START, registrant="reg_a")
    last_second = claim.protection.ends_at - timedelta(seconds=1)
    refusal = refused(customer, last_second, registrant="reg_b")
    assert (refusal.code, refusal.rule) == ("DUPLICATE_LIVE_CLAIM", "R-DUP-1")


def test_the_holder_itself_cannot_register_its_live_customer_again():
    """R-DUP-1: a live claim blocks everyone, its holder included."""
    customer, _ = accepted(Customer(), START, registrant="reg_a")
    assert refused(customer, START + timedelta(hours=1), registrant="reg_a").rule == "R-DUP-1"


def test_second_recommendation_gets_30_days():
    """R-PROT-1, R-PROT-2: once the first ended, a second is accepted for 30 days."""
    customer, first = accepted(Customer(), START, registrant="reg_a")
    at = first.protection.ends_at
    _, second = accepted(customer, at, registrant="reg_b")
    assert second.ordinal == 2
    assert second.protection.ends_at == at + timedelta(days=30)


def test_third_recommendation_is_refused_by_the_limit():
    """R-PROT-1: two recommendations in total, the first included."""
    customer, first = accepted(Customer(), START)
    customer, second = accepted(customer, first.protection.ends_at, registrant="reg_b")
    refusal = refused(customer, second.protection.ends_at, registrant="reg_c")
    assert (refusal.code, refusal.rule) == ("RECOMMENDATION_LIMIT", "R-PROT-1")


def test_duplicate_is_reported_before_the_limit_while_the_second_protection_lives():
    """R-DUP-1 before R-PROT-1: the limit only speaks once nothing is live."""
    customer, first = accepted(Customer(), START)
    customer, _ = accepted(customer, first.protection.ends_at, registrant="reg_b")
    assert refused(customer, first.protection.ends_at + timedelta(days=1)).rule == "R-DUP-1"


def test_ecommerce_report_protects_60_days_and_counts_toward_the_limit():
    """R-PROT-3 (default: e-commerce counts)."""
    customer, report = accepted(Customer(), START, source=Source.ECOMMERCE)
    assert report.ordinal == 1
    assert report.protection.ends_at == shanghai("2027-01-26 10:30")
    assert refused(customer, START + timedelta(days=59), registrant="reg_b").rule == "R-DUP-1"
    customer, second = accepted(customer, report.protection.ends_at, registrant="reg_b")
    assert second.ordinal == 2
    refusal = refused(customer, second.protection.ends_at, source=Source.ECOMMERCE)
    assert refusal.rule == "R-PROT-1"


def test_ecommerce_report_as_second_recommendation_gets_30_days():
    """R-PROT-3 with R-PROT-2: counted second, it gets the second's length."""
    customer, first = accepted(Customer(), START)
    at = first.protection.ends_at
    _, report = accepted(customer, at, source=Source.ECOMMERCE, registrant="reg_e")
    assert report.ordinal == 2
    assert report.protection.ends_at == at + timedelta(days=30)


def test_ecommerce_report_that_does_not_count_leaves_two_recommendations():
    """R-PROT-3 with the policy set so e-commerce does not count."""
    policy = Policy(ecommerce_counts_toward_limit=False)
    customer, report = accepted(Customer(), START, source=Source.ECOMMERCE, policy=policy)
    assert report.ordinal is None
    at = report.protection.ends_at
    customer, first = accepted(customer, at, registrant="reg_b", policy=policy)
    assert first.ordinal == 1
    assert first.protection.ends_at == at + timedelta(days=60)


def test_policy_changes_the_lengths_without_code():
    """R-PROT-2 numbers are defaults."""
    policy = Policy(first_protection_days=45, second_protection_days=15)
    customer, first = accepted(Customer(), START, policy=policy)
    assert first.protection.ends_at == START + timedelta(days=45)
    _, second = accepted(customer, first.protection.ends_at, policy=policy)
    assert second.protection.ends_at == first.protection.ends_at + timedelta(days=15)


def test_expired_protection_leaves_no_live_claim():
    customer, first = accepted(Customer(), START)
    assert customer.live_claim(first.protection.ends_at) is None
    assert isinstance(customer.live_claim(START), Claim)

"""R-REG-4 on the pure rules: a crowd broker is certified before recommending,
and one certified after the customer's deal is not recognized for that
customer (先成交后认定为经纪人的不予承认)."""

from datetime import timedelta

from chalicelib.rules.brokers import Broker, check_broker, check_certified_before_deal
from chalicelib.rules.claims import Customer, Deal, Source
from chalicelib.rules.deals import recorded_deal
from tests.unit.rulebook import accepted, refused, shanghai

START = shanghai("2026-11-27 10:30")
DEAL_AT = START + timedelta(days=10)


def broker(certified_at, **kw):  # type: ignore[no-untyped-def]
    return Broker("brk_1", "张三", "138****0001", "card-key", "1234", certified_at, **kw)


def bought_then_expired() -> tuple[Customer, object]:
    """A channel's customer who bought 10 days in; the protection has ended by
    the time a broker brings them again."""
    customer, first = accepted(Customer(), START, registrant="reg_a")
    outcome = recorded_deal(customer, DEAL_AT, "mgr_1")
    assert isinstance(outcome, Customer)
    return outcome, first.protection.ends_at + timedelta(days=1)


def test_a_broker_must_be_certified_before_the_registration_R_REG_4():
    """R-REG-4: certified strictly before this instant, and the card matches."""
    at = START
    assert check_broker(broker(at - timedelta(seconds=1)), "card-key", at) is None
    assert check_broker(broker(at), "card-key", at).code == "BROKER_NOT_CERTIFIED"
    assert check_broker(None, "card-key", at).rule == "R-REG-4"
    assert check_broker(broker(at - timedelta(days=1)), "other", at).code == "BROKER_ID_MISMATCH"


def test_a_broker_certified_after_the_deal_is_not_recognized_for_that_customer_R_REG_4():
    """R-REG-4: 先成交后认定为经纪人的不予承认, even once nothing else refuses."""
    customer, later = bought_then_expired()
    refusal = refused(
        customer,
        later,
        source=Source.BROKER,
        registrant="brk_1",
        broker_certified_at=DEAL_AT + timedelta(hours=1),
    )
    assert (refusal.code, refusal.rule) == ("BROKER_NOT_CERTIFIED", "R-REG-4")
    assert "after the customer's deal" in refusal.message


def test_a_broker_certified_at_the_deals_very_instant_is_not_recognized():
    """R-REG-4: certification must come first; at the same instant it did not."""
    assert check_certified_before_deal(DEAL_AT, Deal(DEAL_AT, "mgr_1", None, None, None))


def test_a_broker_certified_before_the_deal_is_judged_by_the_ordinary_rules():
    """R-REG-4 refuses only the late certification; R-PROT-1/2 then decide."""
    customer, later = bought_then_expired()
    _, claim = accepted(
        customer,
        later,
        source=Source.BROKER,
        registrant="brk_1",
        broker_certified_at=DEAL_AT - timedelta(days=1),
    )
    assert claim.ordinal == 2


def test_r_reg_4_speaks_before_the_duplicate_while_the_protection_lives():
    """Never recognized for this customer says more than "not now" (R-DUP-1)."""
    customer, _ = bought_then_expired()
    refusal = refused(
        customer,
        DEAL_AT + timedelta(days=1),
        source=Source.BROKER,
        registrant="brk_1",
        broker_certified_at=DEAL_AT + timedelta(hours=1),
    )
    assert refusal.rule == "R-REG-4"


def test_without_a_deal_the_certification_time_decides_nothing_here():
    """R-REG-4: a customer who has not bought meets only the ordinary check."""
    _, claim = accepted(
        Customer(),
        START,
        source=Source.BROKER,
        registrant="brk_1",
        broker_certified_at=START - timedelta(minutes=1),
    )
    assert claim.ordinal == 1

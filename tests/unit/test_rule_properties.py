"""Properties over any sequence of registrations and clock moves (R-DUP-1, R-PROT-1, R-PROT-2)."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.rules.claims import Claim, Customer, Source
from tests.unit.rulebook import POLICY, recommend, shanghai

START = shanghai("2026-01-01 09:00")

steps = st.lists(
    st.tuples(
        st.sampled_from([Source.CHANNEL, Source.DISTRIBUTION, Source.ECOMMERCE]),
        st.sampled_from(["reg_a", "reg_b", "reg_c"]),
        # how far the clock moves before this registration: seconds to months
        st.one_of(
            st.integers(0, 120),
            st.integers(0, 3 * 24 * 3600),
            st.integers(0, 120 * 24 * 3600),
        ),
    ),
    max_size=25,
)


def run(sequence):
    customer, now, history = Customer(), START, []
    for source, registrant, gap in sequence:
        now += timedelta(seconds=gap)
        visit = now + timedelta(hours=1) if source is Source.DISTRIBUTION else now
        outcome = recommend(customer, now, source=source, registrant=registrant, visit_at=visit)
        if isinstance(outcome, Claim):
            customer = customer.with_claim(outcome)
        history.append((now, customer))
    return customer, history


@settings(max_examples=300, deadline=None)
@given(steps)
def test_never_two_live_claims_at_any_instant(sequence):
    """R-DUP-1: first come, first served; one live claim at a time."""
    customer, history = run(sequence)
    instants = [now for now, _ in history]
    for claim in customer.claims:
        instants += [claim.created_at, claim.created_at - timedelta(seconds=1)]
        for period in (claim.protection, claim.visit_window):
            if period:
                instants += [period.ends_at - timedelta(seconds=1), period.ends_at]
    for at in instants:
        existing = [c for c in customer.claims if c.created_at <= at]
        assert sum(c.is_live(at) for c in existing) <= 1


@settings(max_examples=300, deadline=None)
@given(steps)
def test_never_more_than_two_recommendations(sequence):
    """R-PROT-1"""
    customer, _ = run(sequence)
    assert customer.recommendations() <= POLICY.max_recommendations
    ordinals = [c.ordinal for c in customer.claims if c.ordinal is not None and c.protection]
    assert ordinals == list(range(1, len(ordinals) + 1))


@settings(max_examples=300, deadline=None)
@given(steps)
def test_never_more_than_90_protected_days(sequence):
    """R-PROT-1 with R-PROT-2: 60 + 30 days at most, for a customer's whole life."""
    customer, _ = run(sequence)
    total = sum(
        (c.protection.ends_at - c.protection.starts_at for c in customer.claims if c.protection),
        timedelta(),
    )
    assert total <= timedelta(days=90)

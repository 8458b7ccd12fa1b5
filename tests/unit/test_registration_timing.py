"""R-REG-2 (same local day, late entries) and R-REG-3 (30 minutes ahead, 24 h window)."""

from datetime import timedelta

import pytest

from chalicelib.rules.claims import Customer, Source, Status
from chalicelib.rules.policy import Policy
from chalicelib.rules.refusals import Refusal
from chalicelib.rules.registration import (
    Recommendation,
    check_late_approval,
    decide,
    late_entry_cutoff,
)
from tests.unit.rulebook import accepted, approval, refused, shanghai


def test_channel_registers_its_visit_on_the_same_local_day():
    """R-REG-2"""
    accepted(Customer(), shanghai("2026-11-27 23:59"), visit_at=shanghai("2026-11-27 00:01"))


def test_visit_at_2350_registered_at_0005_next_local_day_is_late():
    """R-REG-2: the day is Shanghai's, not UTC's (both instants are the same UTC day)."""
    visit = shanghai("2026-11-27 23:50")
    now = shanghai("2026-11-28 00:05")
    assert visit.date() == now.date()  # same UTC date: a UTC day would wrongly accept
    refusal = refused(Customer(), now, visit_at=visit)
    assert (refusal.code, refusal.rule) == ("REGISTRATION_TOO_LATE", "R-REG-2")


def test_late_entry_with_approval_is_accepted_until_1800_next_day():
    """R-REG-2 with R-REG-1's late rule: approval, then until 18:00 the next day."""
    customer = Customer(approvals=(approval("reg_a", "2026-11-27 20:00"),))
    visit = shanghai("2026-11-27 20:00")
    accepted(customer, shanghai("2026-11-28 17:59:59"), registrant="reg_a", visit_at=visit)
    refusal = refused(customer, shanghai("2026-11-28 18:00"), registrant="reg_a", visit_at=visit)
    assert refusal.code == "REGISTRATION_TOO_LATE"


def test_approval_for_another_registrant_does_not_unlock_a_late_entry():
    customer = Customer(approvals=(approval("reg_b", "2026-11-27 20:00"),))
    refusal = refused(
        customer,
        shanghai("2026-11-28 09:00"),
        registrant="reg_a",
        visit_at=shanghai("2026-11-27 20:00"),
    )
    assert refusal.rule == "R-REG-2"


def test_late_entry_two_days_after_is_refused_even_with_approval():
    customer = Customer(approvals=(approval("reg_a", "2026-11-27 20:00"),))
    refusal = refused(
        customer,
        shanghai("2026-11-29 09:00"),
        registrant="reg_a",
        visit_at=shanghai("2026-11-27 20:00"),
    )
    assert refusal.code == "REGISTRATION_TOO_LATE"


def test_an_approval_made_after_its_cutoff_is_refused_R_REG_2():
    """R-REG-2 / R-REG-1: an approval unlocks a late entry only until 18:00 the
    day after the visit; made at or after that instant it would unlock nothing,
    so it is refused rather than recorded."""
    visit_day = shanghai("2026-11-27 20:00").date()
    assert late_entry_cutoff(visit_day, Policy()) == shanghai("2026-11-28 18:00")
    assert check_late_approval(visit_day, shanghai("2026-11-28 17:59:59"), Policy()) is None
    refusal = check_late_approval(visit_day, shanghai("2026-11-28 18:00"), Policy())
    assert refusal is not None
    assert (refusal.code, refusal.rule) == ("REGISTRATION_TOO_LATE", "R-REG-2")
    consultant = check_late_approval(
        visit_day, shanghai("2026-12-01 09:00"), Policy(), rule="R-REG-1"
    )
    assert consultant is not None and consultant.rule == "R-REG-1"


def test_channel_visit_in_the_future_is_refused_as_invalid():
    """R-REG-2: a channel registers a visit that took place (5 minutes of clock skew)."""
    now = shanghai("2026-11-27 10:00")
    accepted(Customer(), now, visit_at=now + timedelta(minutes=5))
    refusal = refused(Customer(), now, visit_at=now + timedelta(minutes=6))
    assert (refusal.code, refusal.rule, refusal.field) == (
        "VALIDATION_ERROR",
        "R-REG-2",
        "visit_at",
    )


@pytest.mark.parametrize(("minutes", "ok"), [(29, False), (30, True), (31, True)])
def test_distribution_registers_at_least_30_minutes_ahead(minutes, ok):
    """R-REG-3: 29 minutes ahead is refused; 30 and 31 are accepted."""
    now = shanghai("2026-11-27 10:00")
    visit = now + timedelta(minutes=minutes)
    if ok:
        accepted(Customer(), now, source=Source.DISTRIBUTION, visit_at=visit)
    else:
        refusal = refused(Customer(), now, source=Source.DISTRIBUTION, visit_at=visit)
        assert (refusal.code, refusal.rule) == ("TOO_CLOSE_TO_VISIT", "R-REG-3")


def test_distribution_hold_is_provisional_with_its_window():
    """R-REG-3: no protection yet; the visit counts from +30 min until +24 h."""
    now = shanghai("2026-11-27 10:00")
    _, hold = accepted(
        Customer(), now, source=Source.DISTRIBUTION, visit_at=now + timedelta(hours=2)
    )
    assert hold.protection is None
    assert hold.visit_window.starts_at == now + timedelta(minutes=30)
    assert hold.visit_window.ends_at == now + timedelta(hours=24)
    assert hold.status(now) is Status.PROVISIONAL


def test_distribution_hold_blocks_others_until_its_window_ends_then_lapses():
    """R-REG-3 with R-DUP-1: the hold blocks while inside its window, lapses at its end,
    and a lapsed hold does not count toward R-PROT-1."""
    now = shanghai("2026-11-27 10:00")
    customer, hold = accepted(
        Customer(), now, source=Source.DISTRIBUTION, visit_at=now + timedelta(hours=1)
    )
    closes = hold.visit_window.ends_at
    assert refused(customer, closes - timedelta(seconds=1), registrant="reg_b").rule == "R-DUP-1"
    assert hold.status(closes) is Status.LAPSED
    _, first = accepted(customer, closes, registrant="reg_b")
    assert first.ordinal == 1


@pytest.mark.parametrize("ahead", [timedelta(hours=24), timedelta(hours=24, seconds=1)])
def test_distribution_visit_at_or_beyond_the_window_end_is_refused_as_invalid(ahead):
    """R-REG-3: the window is half-open; a visit at its end would not count."""
    now = shanghai("2026-11-27 10:00")
    refusal = refused(Customer(), now, source=Source.DISTRIBUTION, visit_at=now + ahead)
    assert (refusal.code, refusal.rule) == ("VALIDATION_ERROR", "R-REG-3")
    accepted(
        Customer(), now, source=Source.DISTRIBUTION, visit_at=now + ahead - timedelta(seconds=2)
    )


@pytest.mark.parametrize(
    ("source", "rule"), [(Source.CHANNEL, "R-REG-2"), (Source.DISTRIBUTION, "R-REG-3")]
)
def test_visit_at_is_required_for_channels_and_distribution(source, rule):
    rec = Recommendation("rg_x", "reg_a", source, None, "k", "h")
    outcome = decide(rec, Customer(), shanghai("2026-11-27 10:00"), Policy())
    assert isinstance(outcome, Refusal)
    assert (outcome.code, outcome.rule, outcome.field) == ("VALIDATION_ERROR", rule, "visit_at")


def test_ecommerce_report_needs_no_visit_at():
    """R-PROT-3"""
    _, report = accepted(Customer(), shanghai("2026-11-27 10:00"), source=Source.ECOMMERCE)
    assert report.protection is not None


def test_window_and_lead_come_from_the_policy():
    policy = Policy(distribution_min_lead_minutes=60, distribution_window_hours=48)
    now = shanghai("2026-11-27 10:00")
    refusal = refused(
        Customer(),
        now,
        source=Source.DISTRIBUTION,
        visit_at=now + timedelta(minutes=59),
        policy=policy,
    )
    assert refusal.code == "TOO_CLOSE_TO_VISIT"
    _, hold = accepted(
        Customer(),
        now,
        source=Source.DISTRIBUTION,
        visit_at=now + timedelta(hours=40),
        policy=policy,
    )
    assert hold.visit_window.ends_at == now + timedelta(hours=48)

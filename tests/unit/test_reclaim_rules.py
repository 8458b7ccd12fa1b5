"""R-RECLAIM-1 on the pure rules: calendar months, the run that takes a
customer, and the cron that fires it in UTC."""

from __future__ import annotations

from datetime import date, time

import pytest

from chalicelib.rules.claims import Customer, Tenure
from chalicelib.rules.policy import Policy
from chalicelib.rules.reclaim import (
    add_months,
    assigned_from_pool,
    expression,
    first_run_from,
    reclaim_due,
    reclaimed,
    stale_from,
    utc_cron,
)
from tests.support import shanghai

POLICY = Policy()


@pytest.mark.parametrize(
    ("visit", "stale"),
    [
        (date(2026, 11, 30), date(2027, 2, 28)),  # RULES.md's own example
        (date(2027, 11, 30), date(2028, 2, 29)),  # a leap year
        (date(2026, 12, 31), date(2027, 3, 31)),
        (date(2026, 8, 31), date(2026, 11, 30)),
        (date(2026, 12, 1), date(2027, 3, 1)),
    ],
)
def test_three_calendar_months_clamp_to_the_months_end(visit, stale):
    """R-RECLAIM-1: "3 months" is three calendar months after the local date."""
    assert stale_from(visit, POLICY) == stale


def test_add_months_crosses_years():
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert add_months(date(2027, 1, 31), -2) == date(2026, 11, 30)


def test_a_visit_on_30_november_is_taken_by_the_1_march_run_not_the_1_february_run():
    """R-RECLAIM-1: stale from 28 February, so the 1 March 02:00 run takes it."""
    run = first_run_from(stale_from(date(2026, 11, 30), POLICY), POLICY)
    assert run == shanghai("2027-03-01 02:00")


def test_a_visit_on_31_december_is_taken_by_the_1_april_run():
    run = first_run_from(stale_from(date(2026, 12, 31), POLICY), POLICY)
    assert run == shanghai("2027-04-01 02:00")


def test_a_visit_on_1_december_is_taken_on_1_march_itself():
    """Exactly three months on the run's own day counts ("3 months or more")."""
    run = first_run_from(stale_from(date(2026, 12, 1), POLICY), POLICY)
    assert run == shanghai("2027-03-01 02:00")


def test_the_reclaim_cron_runs_at_18_utc_on_the_last_day_of_the_month_before():
    """02:00 Asia/Shanghai on the 1st is 18:00 UTC the day before: EventBridge's
    cron runs in UTC, and ``L`` is the last day of whatever month that is."""
    fields = utc_cron(POLICY)
    assert fields == ("0", "18", "L")
    assert expression(fields) == "cron(0 18 L * ? *)"
    for local, utc in (
        ("2027-03-01 02:00", "2027-02-28T18:00:00+00:00"),  # after a 28-day February
        ("2028-03-01 02:00", "2028-02-29T18:00:00+00:00"),  # after a leap February
        ("2027-01-01 02:00", "2026-12-31T18:00:00+00:00"),  # across the year
        ("2026-12-01 02:00", "2026-11-30T18:00:00+00:00"),  # after a 30-day month
    ):
        assert shanghai(local).isoformat() == utc


def test_a_later_local_hour_stays_on_the_same_utc_day():
    assert utc_cron(Policy(reclaim_local_time=time(9, 30))) == ("30", "1", "1")


def test_a_zone_with_daylight_saving_cannot_have_a_fixed_utc_cron():
    with pytest.raises(ValueError, match="changes its offset"):
        utc_cron(Policy(timezone="Europe/Berlin"))


def owned(visit: str, consultant: str = "stf_a") -> Customer:
    at = shanghai(visit)
    return Customer(tenures=(Tenure(consultant, at, "walk_in"),), last_visit_at=at)


def test_a_bought_customer_is_never_due_for_reclaim():
    from chalicelib.rules.claims import Deal

    customer = owned("2026-11-30 10:00")
    assert reclaim_due(customer, POLICY) == shanghai("2027-03-01 02:00")
    bought = Customer(
        tenures=customer.tenures,
        last_visit_at=customer.last_visit_at,
        deal=Deal(shanghai("2026-12-05 10:00"), "stf_m", "stf_a", None, None),
    )
    assert reclaim_due(bought, POLICY) is None
    assert reclaimed(bought, shanghai("2027-03-01 02:00"), POLICY) is None


def test_reclaim_ends_the_tenure_at_the_run_and_the_pool_gives_a_new_one():
    customer = owned("2026-11-30 10:00")
    run = shanghai("2027-03-01 02:00")
    assert reclaimed(customer, shanghai("2027-02-01 02:00"), POLICY) is None
    pooled = reclaimed(customer, run, POLICY)
    assert pooled.consultant_at(run) is None
    assert pooled.pooled_at == run
    assert reclaim_due(pooled, POLICY) is None  # nobody owns them: nothing to reclaim
    given = assigned_from_pool(pooled, "stf_b", shanghai("2027-03-02 09:00"))
    assert given.consultant_at(shanghai("2027-03-02 09:00")) == "stf_b"
    assert given.consultant_at(shanghai("2026-12-01 09:00")) == "stf_a"
    assert given.pooled_at is None


@pytest.mark.parametrize(
    ("assigned", "due"),
    [
        ("2027-03-02 09:00", "2027-04-01 02:00"),
        ("2027-03-01 09:00", "2027-04-01 02:00"),  # after that day's run
        ("2027-03-01 02:00", "2027-04-01 02:00"),  # at the very instant of the run
    ],
)
def test_a_stale_customer_from_the_pool_is_due_at_the_first_run_after_the_assignment(assigned, due):
    """R-RECLAIM-1: the last visit (30 November) is stale from 28 February,
    but a run cannot take the customer from a consultant who did not yet
    have them: the tenure never ends before it began."""
    pooled = reclaimed(owned("2026-11-30 10:00"), shanghai("2027-02-01 02:00"), POLICY)
    assert pooled is None  # not yet stale then
    pooled = reclaimed(owned("2026-11-30 10:00"), shanghai("2027-03-01 02:00"), POLICY)
    given = assigned_from_pool(pooled, "stf_b", shanghai(assigned))
    assert reclaim_due(given, POLICY) == shanghai(due)
    again = reclaimed(given, shanghai(due), POLICY)
    assert again.tenures[-1].since < again.tenures[-1].until == shanghai(due)

"""R-RECLAIM-1: the monthly reclaim of stale customers into the pool.

"3 months" is three calendar months after the last visit's local date,
clamped to the month's end: a visit on 30 November is stale from 28 February
(29 in a leap year). The reclaim runs on the 1st of each month at 02:00
local time (policy), and takes every customer stale by that day.
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from .claims import Customer, Source, Tenure
from .localtime import at_local_time, local_date
from .policy import Policy
from .sweep import next_due


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later, clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def stale_from(last_visit: date, policy: Policy) -> date:
    return add_months(last_visit, policy.reclaim_after_months)


def run_at(year: int, month: int, policy: Policy) -> datetime:
    """The reclaim run of that month, as an instant."""
    day = date(year, month, policy.reclaim_day_of_month)
    return at_local_time(day, policy.reclaim_local_time, policy.zone)


def first_run_from(day: date, policy: Policy) -> datetime:
    """The first reclaim run whose local date is ``day`` or later."""
    if day.day <= policy.reclaim_day_of_month:
        return run_at(day.year, day.month, policy)
    following = add_months(date(day.year, day.month, 1), 1)
    return run_at(following.year, following.month, policy)


def reclaim_due(customer: Customer, policy: Policy) -> datetime | None:
    """The run that reclaims the customer, if nothing changes before it: a
    customer with a consultant, a last visit, and no deal.

    A run takes a customer only from a consultant who had them when it ran:
    one given out from the pool after their last visit went stale is taken
    by the first run after the assignment, never "as of" an earlier one."""
    tenure = customer.open_tenure()
    if customer.deal is not None or customer.last_visit_at is None or tenure is None:
        return None
    last_day = local_date(customer.last_visit_at, policy.zone)
    due = first_run_from(stale_from(last_day, policy), policy)
    if due > tenure.since:
        return due
    began = local_date(tenure.since, policy.zone)
    due = first_run_from(began, policy)
    return due if due > tenure.since else first_run_from(began + timedelta(days=1), policy)


def reclaimed(customer: Customer, run: datetime, policy: Policy) -> Customer | None:
    """The customer after the run at ``run``, or None when it does not apply
    (bought, visited since, already in the pool, nobody owns them)."""
    due = reclaim_due(customer, policy)
    if due is None or due > run:
        return None
    current = customer.tenures[-1]
    tenures = (*customer.tenures[:-1], replace(current, until=run))
    claims = tuple(
        replace(c, reclaimed_at=run)
        if c.source is Source.CONSULTANT and c.reclaimed_at is None
        else c
        for c in customer.claims
    )
    return replace(customer, tenures=tenures, claims=claims, pooled_at=run)


def visited(
    customer: Customer, at: datetime, consultant_id: str | None, how: str = "floor"
) -> Customer:
    """A visit at ``at``: the last visit moves on, and a customer nobody owns
    (new, or back from the pool) becomes the receiving consultant's."""
    last = customer.last_visit_at
    changed = replace(customer, last_visit_at=at if last is None or at > last else last)
    if consultant_id is None or customer.open_tenure() is not None:
        return changed
    tenure = Tenure(consultant_id, at, how)
    return replace(changed, tenures=(*customer.tenures, tenure), pooled_at=None)


def assigned_from_pool(customer: Customer, consultant_id: str, at: datetime) -> Customer:
    """The sales manager gives a pooled customer to a consultant; from now on
    the deal is theirs alone."""
    tenure = Tenure(consultant_id, at, "pool")
    return replace(customer, tenures=(*customer.tenures, tenure), pooled_at=None)


def utc_cron(policy: Policy) -> tuple[str, str, str]:
    """(minutes, hours, day of month) of the EventBridge cron, which runs in
    UTC, for the local reclaim time: 02:00 on the 1st in Asia/Shanghai is
    18:00 UTC on the last day of the month before (``L``)."""
    reference = datetime(2026, 1, 1, tzinfo=UTC)
    offsets = {
        policy.zone.utcoffset(reference.replace(month=m, tzinfo=None)) for m in (1, 4, 7, 10)
    }
    if len(offsets) != 1:
        raise ValueError(f"{policy.timezone} changes its offset: a fixed UTC cron cannot follow")
    (offset,) = offsets
    assert offset is not None
    local = datetime.combine(date(2026, 1, policy.reclaim_day_of_month), policy.reclaim_local_time)
    utc = local - offset
    if utc.day == local.day:
        day = str(local.day)
    elif utc < local and local.day == 1:
        day = "L"  # the last day of the month before
    elif utc < local:
        day = str(local.day - 1)
    else:
        day = str(local.day + 1)
    return str(utc.minute), str(utc.hour), day


def expression(fields: tuple[str, str, str]) -> str:
    minutes, hours, day = fields
    return f"cron({minutes} {hours} {day} * ? *)"


def scheduled(customer: Customer, policy: Policy) -> Customer:
    """The customer with the moments the jobs next have work for it: every
    write of a customer goes through here, so the jobs' indexes hold exactly
    what is due."""
    return replace(
        customer,
        sweep_due=next_due(customer, customer.swept_until, policy),
        reclaim_due=reclaim_due(customer, policy),
    )

"""The dashboard's counts, kept as things happen (docs/decisions/0009).

A request's count is written by the request that won the conditional write
it counts (a retry finds the change made and counts nothing), after that
write, and is best-effort: a count that cannot be written is logged, never
failed. A job's counts are exact: counted once per thing (``add_count_once``)
before the job's own write, or put whole (snapshots), so a run that dies
anywhere and runs again ends as one that never died. (The registration
outcomes are not kept here: they are counted from the audit trail,
store/floor.py ``outcome_counts``.)

- ``fines``   ``<month>#<status>`` and ``<month>#<status>#yuan``: a fine's
              local month; a status change moves it from one to the other.
- ``pool``    ``<month>``: the local month customers entered the pool, put
              from the pool itself at the end of each reclaim run and by the
              first sweep after each local midnight (which heals what is not
              counted: a pooled customer who comes back and is received);
              -1 when the sales manager assigns one.
- ``ending``  ``<day>``: the local day a protection ends, +1 once per
              registration when the sweep records its
              ``protection.ending_soon`` (policy.ending_soon_days before).
- ``floor``   ``<day>#<what>``: a snapshot of each local day's visits, put
              by the first sweep after the day ends (writing it again writes
              the same numbers).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from chalicelib.errors import StoreUnavailable
from chalicelib.observability import count, logger
from chalicelib.rules.claims import Source
from chalicelib.rules.fines import Fine
from chalicelib.rules.floor import Visit
from chalicelib.rules.localtime import local_date
from chalicelib.store import Store

FINES, POOL, ENDING, FLOOR = "fines", "pool", "ending", "floor"
# 判客 decides among the recommenders whose customers the channel assistant judges
JUDGED = (Source.CHANNEL, Source.DISTRIBUTION, Source.ECOMMERCE, Source.BROKER)
FLOOR_NAMES = (
    "arrivals",
    "people",
    "signed_in",
    *(f"decided#{s.value}" for s in JUDGED),
    "corrected",
    "natural",
)


def local_month(at: datetime, zone: ZoneInfo) -> str:
    return local_date(at, zone).strftime("%Y-%m")


def _add(store: Store, scope: str, changes: Iterable[tuple[str, int]]) -> None:
    for name, by in changes:
        try:
            store.add_count(scope, name, by)
        except StoreUnavailable:
            logger.warning("dashboard count not written", extra={"count": f"{scope}/{name}"})
            count("DashboardCountLost", scope=scope)


def fine_moved(store: Store, before: Fine | None, after: Fine) -> None:
    """A fine recorded (``before`` None) or its status changed: counted once
    per version of the fine, so writing it again (a rerun, a retry) adds
    nothing."""
    if before is not None and before.status is after.status:
        return
    token = f"{after.fine_id}@{after.version}"
    changes = [(f"{after.month}#{after.status.value}", 1)]
    changes.append((f"{after.month}#{after.status.value}#yuan", after.amount))
    if before is not None:
        changes.append((f"{before.month}#{before.status.value}", -1))
        changes.append((f"{before.month}#{before.status.value}#yuan", -before.amount))
    for name, by in changes:
        try:
            store.add_count_once(FINES, name, token, by)
        except StoreUnavailable:
            logger.warning("dashboard count not written", extra={"count": f"{FINES}/{name}"})
            count("DashboardCountLost", scope=FINES)


def pool_left(store: Store, pooled_at: datetime, zone: ZoneInfo) -> None:
    _add(store, POOL, [(local_month(pooled_at, zone), -1)])


def protection_ending(
    store: Store, registration_id: str, ends_at: datetime, zone: ZoneInfo
) -> None:
    """Counted once per registration, before the sweep commits the customer:
    a run that dies after it, or a second run, counts it no more. A failure
    fails the run, which is run again."""
    store.add_count_once(ENDING, local_date(ends_at, zone).isoformat(), registration_id)


def floor_day(visits: Iterable[Visit]) -> dict[str, int]:
    """The floor's numbers of one day's visits: arrivals (a group counts
    once; its households each signed in), people, and 判客 by the source of
    the claim in force (corrections apart; ``natural``: signed in with no
    decision)."""
    n = dict.fromkeys(FLOOR_NAMES, 0)
    for visit in visits:
        if visit.group_id == visit.visit_id:
            n["arrivals"] += 1
            n["people"] += visit.party_size
        if visit.signed_in_at is not None:
            n["signed_in"] += 1
        decision = visit.decision
        if decision is not None:
            key = f"decided#{decision.source}"
            if key in n:
                n[key] += 1
            n["corrected"] += sum(1 for d in visit.decisions if d.replaces)
        elif visit.signed_in_at is not None:
            n["natural"] += 1
    return n


def snapshot_floor_day(store: Store, day: date) -> None:
    """The day's floor numbers, put once the day has ended (the sweep)."""
    numbers = floor_day(store.visits_on(day))
    store.set_counts(FLOOR, {f"{day.isoformat()}#{k}": v for k, v in numbers.items()})


# how far back the pool is read for its snapshot: as far as the pool lists it
POOL_MONTHS = 24


def snapshot_pool(
    store: Store, now: datetime, zone: ZoneInfo, entered: dict[str, datetime] | None = None
) -> None:
    """The pool's size by the local month customers entered it, read from
    the pool (one Query per UTC month of the last two years) and put over
    the counts; ``entered``: customers the caller has just pooled, which the
    pool's index may not show yet."""
    pooled = dict(entered or {})
    year, month = now.astimezone(UTC).year, now.astimezone(UTC).month
    for back in range(POOL_MONTHS):
        index = year * 12 + month - 1 - back
        for key, customer in store.pooled(f"{index // 12:04d}-{index % 12 + 1:02d}"):
            if customer.pooled_at is not None:
                pooled[key] = customer.pooled_at
    sizes = dict.fromkeys(store.counts(POOL), 0)
    for at in pooled.values():
        sizes[local_month(at, zone)] = sizes.get(local_month(at, zone), 0) + 1
    store.set_counts(POOL, sizes)

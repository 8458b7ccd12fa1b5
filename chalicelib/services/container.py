"""The services of this process, built at first use from the settings.

Each is imported when first built: a Lambda instance's first request loads
the services of its own route only (a registration does not import the floor,
the fines or Party A's administration), which is most of the app's own import
time on a cold start (docs/benchmarks.md, cold_ratio).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from chalicelib import aws_session
from chalicelib.settings import settings
from chalicelib.store import store

if TYPE_CHECKING:
    from chalicelib.services.dashboard import Dashboard
    from chalicelib.services.fines.ledger import Fines
    from chalicelib.services.floor.appeals import Appeals
    from chalicelib.services.floor.daily_report import DailyReport
    from chalicelib.services.floor.lookup import Lookups
    from chalicelib.services.floor.ownership import Ownership
    from chalicelib.services.floor.rotation import Rotation
    from chalicelib.services.floor.visits import Visits
    from chalicelib.services.people.party_a import PartyA
    from chalicelib.services.people.portfolio import Portfolio
    from chalicelib.services.reclaim.deals import Deals
    from chalicelib.services.reclaim.jobs import Reclaim, Sweep
    from chalicelib.services.reclaim.pool import Pool
    from chalicelib.services.reclaim.probing import DuplicateWatch
    from chalicelib.services.registration.reads import Reads
    from chalicelib.services.registration.registrations import Registrations


@cache
def registrations() -> Registrations:
    from chalicelib.services.registration.ratelimit import RateLimiter
    from chalicelib.services.registration.registrations import Registrations

    s = settings()
    return Registrations(store(), s, RateLimiter(s.rate_per_second, s.rate_burst))


@cache
def lookups() -> Lookups:
    from chalicelib.services.floor.lookup import Lookups

    return Lookups(store(), settings())


@cache
def reads() -> Reads:
    from chalicelib.services.registration.reads import Reads

    return Reads(store(), settings())


@cache
def visits() -> Visits:
    from chalicelib.services.floor.visits import Visits

    return Visits(store(), settings())


@cache
def ownership() -> Ownership:
    from chalicelib.services.floor.ownership import Ownership

    return Ownership(store(), settings())


@cache
def rotation() -> Rotation:
    from chalicelib.services.floor.rotation import Rotation

    return Rotation(store(), settings())


@cache
def daily_report() -> DailyReport:
    from chalicelib.services.floor.daily_report import DailyReport

    return DailyReport(store(), settings())


@cache
def sweep() -> Sweep:
    from chalicelib.services.reclaim.jobs import Sweep

    return Sweep(store(), settings())


@cache
def duplicate_watch() -> DuplicateWatch:
    from chalicelib.services.reclaim.probing import DuplicateWatch

    return DuplicateWatch(store(), settings())


@cache
def reclaim() -> Reclaim:
    from chalicelib.services.reclaim.jobs import Reclaim

    return Reclaim(store(), settings())


@cache
def pool() -> Pool:
    from chalicelib.services.reclaim.pool import Pool

    return Pool(store(), settings())


@cache
def portfolio() -> Portfolio:
    from chalicelib.services.people.portfolio import Portfolio

    return Portfolio(store(), settings())


@cache
def deals() -> Deals:
    from chalicelib.services.reclaim.deals import Deals

    return Deals(store(), settings())


@cache
def dashboard() -> Dashboard:
    from chalicelib.services.dashboard import Dashboard

    return Dashboard(store(), settings())


@cache
def fines() -> Fines:
    from chalicelib.services.fines.ledger import Fines

    return Fines(store(), settings())


@cache
def party_a() -> PartyA:
    from chalicelib.services.people.party_a import PartyA

    return PartyA(store(), settings())


@cache
def appeals() -> Appeals:
    from chalicelib.services.floor.appeals import Appeals

    return Appeals(store(), settings())


def reset() -> None:
    """Forget everything built from the settings (tests change them)."""
    built_here = (
        registrations,
        reads,
        lookups,
        visits,
        ownership,
        rotation,
        daily_report,
        sweep,
        reclaim,
        pool,
        portfolio,
        deals,
        fines,
        dashboard,
        party_a,
        duplicate_watch,
        appeals,
    )
    for built in (*built_here, store, settings):
        built.cache_clear()
    aws_session.forget()

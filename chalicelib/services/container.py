"""The services of this process, built at first use from the settings."""

from __future__ import annotations

from functools import cache

from chalicelib.settings import settings
from chalicelib.store import store

from .lookup import Lookups
from .ratelimit import RateLimiter
from .reads import Reads
from .registrations import Registrations


@cache
def registrations() -> Registrations:
    s = settings()
    return Registrations(store(), s, RateLimiter(s.rate_per_second, s.rate_burst))


@cache
def lookups() -> Lookups:
    return Lookups(store(), settings())


@cache
def reads() -> Reads:
    return Reads(store(), settings())


def reset() -> None:
    """Forget everything built from the settings (tests change them)."""
    for built in (registrations, reads, lookups, store, settings):
        built.cache_clear()

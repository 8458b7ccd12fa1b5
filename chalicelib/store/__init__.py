"""The only package that knows DynamoDB."""

from __future__ import annotations

from functools import cache

from chalicelib.settings import settings

from . import tables
from .errors import Stale, StoreUnavailable, VersionConflict
from .repository import Store
from .tables import bind

__all__ = [
    "Stale",
    "Store",
    "StoreUnavailable",
    "VersionConflict",
    "create_tables",
    "store",
]


@cache
def store() -> Store:
    """The stage's store, built on first use (never at import)."""
    return Store(bind(settings()))


def create_tables(*, ttl_supported: bool = True) -> None:
    """Create the stage's tables where missing (tests, local stage, admin)."""
    store()  # binds the models to this stage's table names first
    tables.create_tables(ttl_supported=ttl_supported)

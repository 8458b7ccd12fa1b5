"""Every write of a customer goes through ``Customers.commit``: the jobs' due
moments (``rules.reclaim.scheduled``) are derived there, in the same
conditional write as the change that moves them, so the jobs' indexes never
drift from the customers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.errors import StoreUnavailable
from chalicelib.rules.claims import Customer
from chalicelib.rules.policy import Policy
from chalicelib.rules.reclaim import scheduled
from chalicelib.store import Store, VersionConflict

MAX_ATTEMPTS = 5


class Customers:
    def __init__(self, store: Store, policy: Policy) -> None:
        self._store = store
        self._policy = policy

    @property
    def policy(self) -> Policy:
        return self._policy

    def commit(self, key: str, phone: str, customer: Customer, now: datetime) -> Customer:
        """Write the customer if nobody changed it since it was read
        (VersionConflict otherwise); returns what was written."""
        planned = scheduled(customer, self._policy)
        self._store.commit_customer(key, phone, planned, now)
        return planned

    def change(
        self,
        key: str,
        phone: str | None,
        update: Callable[[Customer], Customer | None],
        now: datetime,
    ) -> Customer | None:
        """Read the customer, apply ``update`` and commit; on a lost race read
        again and redo. ``update`` returns None when there is nothing to
        change. Without ``phone`` a customer not yet stored is left alone."""
        customer = self._store.get_customer(key)
        for _ in range(MAX_ATTEMPTS):
            if customer is None and phone is None:
                return None
            current = customer or Customer()
            updated = update(current)
            if updated is None or updated == current:
                return current
            try:
                return self.commit(key, phone or current.phone or "", updated, now)
            except VersionConflict as conflict:
                customer = conflict.current or self._store.get_customer(key)
        raise StoreUnavailable("too much contention on one customer")

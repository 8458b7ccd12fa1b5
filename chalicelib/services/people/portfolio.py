"""A consultant's own customers (R-RECLAIM-1): whom they follow up, and how
each stands now (protected by a recommender, unprotected, or bought), with
the reclaim run that takes them if nothing happens before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.rules.claims import Customer
from chalicelib.rules.staff import Staff
from chalicelib.services.registration.reads import decode_cursor, one_page, parse_limit
from chalicelib.services.views import owned_customer_view
from chalicelib.settings import Settings
from chalicelib.store import Store


class Portfolio:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._policy = settings.policy

    def mine(self, consultant: Staff, query: dict[str, str], now: datetime) -> dict[str, Any]:
        """Latest visit first, ``limit`` at a time; ``next_cursor`` continues.
        Only customers whose tenure is open (not reclaimed) are listed."""
        limit = parse_limit(query)
        before = decode_cursor(query.get("cursor"), "")
        rows = self._store.customers_of(consultant.staff_id, before, limit + 1)
        page, cursor = one_page(rows, limit, lambda row: row[0])
        data = []
        named = {key: _named_by(customer) for _, key, customer in page}
        names = self._store.customer_names([k for k in named.values() if k is not None])
        for _, key, customer in page:
            tenure = customer.open_tenure()
            # the index is derived from this very tenure in the same write
            if tenure is not None and tenure.consultant_id == consultant.staff_id:
                view = owned_customer_view(key, customer, tenure, now, self._policy)
                found = named[key]
                view["name"] = names.get(found) if found is not None else None
                data.append(view)
        return {"data": data, "next_cursor": cursor}


def _named_by(customer: Customer) -> tuple[str, str] | None:
    """The registration whose name the consultant sees: the latest one (a
    customer's name is taken when they are registered; the customer record
    itself keeps only the phone)."""
    latest = max(customer.claims, key=lambda c: c.created_at, default=None)
    return (latest.registrant_id, latest.registration_id) if latest is not None else None

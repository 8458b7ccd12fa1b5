"""Counts kept as things happen (one atomic ADD each), read a scope at a time.

A report over a day reads the day's counters: a few items per registrant,
whatever the number of registrations behind them.
"""

from __future__ import annotations

from .failures import unavailable_on_outage
from .models import CounterItem


class CounterMethods:
    def add_count(self, scope: str, name: str, by: int = 1) -> None:
        with unavailable_on_outage():
            CounterItem(scope=scope, name=name).update(actions=[CounterItem.n.add(by)])

    def counts(self, scope: str) -> dict[str, int]:
        """Every count of the scope, by name."""
        with unavailable_on_outage():
            return {item.name: int(item.n) for item in CounterItem.query(scope)}

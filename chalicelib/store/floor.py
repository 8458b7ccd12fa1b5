"""The floor's reads and conditional writes: visits, rosters, the day's audit.

A visit and a day's roster are each replaced whole, on the condition that
nobody changed them since they were read (their version), like the customer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from chalicelib.rules.floor import Visit
from chalicelib.rules.records import AuditEntry
from chalicelib.rules.rotation import Roster

from .failures import unavailable_on_outage
from .mapping import (
    audit_from_item,
    roster_from_item,
    roster_to_item,
    visit_from_item,
    visit_to_item,
)
from .models import AuditItem, RosterItem, VisitItem
from .versioned import save_versioned


class FloorMethods:
    # -- visits -----------------------------------------------------------------

    def get_visit(self, visit_id: str) -> Visit | None:
        with unavailable_on_outage():
            try:
                item = VisitItem.get(visit_id, consistent_read=True)
            except VisitItem.DoesNotExist:
                return None
        return visit_from_item(item)

    def save_visit(self, visit: Visit, now: datetime) -> Visit:
        """Store the visit if nobody changed it since it was read (else Stale)."""
        item = visit_to_item(visit, (visit.version or 0) + 1)
        save_versioned(item, VisitItem.visit_id, VisitItem.version, visit.version, visit.visit_id)
        return visit_from_item(item)

    def visits_on(self, day: date) -> list[Visit]:
        """The day's visits in arrival order (an index: eventually consistent)."""
        with unavailable_on_outage():
            return [visit_from_item(i) for i in VisitItem.by_day.query(day.isoformat())]

    def visits_of(self, customer_key: str) -> list[Visit]:
        """A customer's visits, newest first."""
        with unavailable_on_outage():
            return [
                visit_from_item(i)
                for i in VisitItem.by_customer.query(customer_key, scan_index_forward=False)
            ]

    # -- rosters (R-FLOOR-3) ------------------------------------------------------

    def get_roster(self, day: date) -> Roster | None:
        with unavailable_on_outage():
            try:
                item = RosterItem.get(day.isoformat(), consistent_read=True)
            except RosterItem.DoesNotExist:
                return None
        return roster_from_item(item)

    def save_roster(self, roster: Roster, now: datetime) -> Roster:
        """Store the roster if nobody changed it since it was read (else Stale):
        two front-desk devices never hand out the same turn."""
        item = roster_to_item(roster, (roster.version or 0) + 1)
        item.updated_at = now
        day = roster.day.isoformat()
        save_versioned(item, RosterItem.day, RosterItem.version, roster.version, day)
        return roster_from_item(item)

    # -- the daily report (R-REG-2) ---------------------------------------------------

    def outcomes_since(self, day: date, since: datetime) -> Iterator[AuditEntry]:
        """The registration outcomes of a local day recorded at or after ``since``."""
        with unavailable_on_outage():
            after = AuditItem.position >= f"{int(since.timestamp() * 1000):013d}"
            for item in AuditItem.by_day.query(day.isoformat(), range_key_condition=after):
                yield audit_from_item(item)

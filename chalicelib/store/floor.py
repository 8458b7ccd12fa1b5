"""The floor's reads and conditional writes: visits, rosters, the day's audit.

A visit and a day's roster are each replaced whole, on the condition that
nobody changed them since they were read (their version), like the customer.

判客 (services/floor/ownership.py) reads the registrant's record and what a repeat
may have left written, and writes the records that follow its decision in
one BatchWriteItem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.rules.claims import Claim
from chalicelib.rules.floor import Visit
from chalicelib.rules.records import AuditEntry, Event
from chalicelib.rules.rotation import Roster

from .failures import unavailable_on_outage
from .floor_mapping import roster_from_item, roster_to_item, visit_from_item, visit_to_item
from .later_models import RosterItem, VisitItem
from .mapping import (
    audit_from_item,
    audit_item,
    claim_from_map,
    claim_to_map,
    event_item,
    event_position,
    position,
)
from .models import AuditItem, CustomerItem, EventItem, RegistrationItem
from .versioned import save_versioned


@dataclass(frozen=True)
class RecordAsRead:
    """A registrant's record of one registration as read, to be written back
    whole (``save_decision_records``) with its claim and protected position."""

    registrant_id: str
    registration_id: str
    claim: Claim
    protected_recorded_at: datetime | None
    _raw: dict[str, Any]


@dataclass(frozen=True)
class DecisionReads:
    """What a 判客 decision reads besides the visit (services/floor/ownership.py)."""

    customer_key: str | None = None
    record: tuple[str, str] | None = None  # (registrant id, registration id)
    audit: AuditEntry | None = None


class FloorMethods:
    # ahead.py and repository.py
    _get: Callable[[Any], Any]
    _batch_put: Callable[[list[Any]], None]
    reading_ahead: Callable[..., AbstractContextManager[None]]

    # -- 判客 (services/floor/ownership.py) ---------------------------------------------

    def reading_ahead_of_decision(
        self, visit_id: str | None, then: Callable[[Visit | None], DecisionReads]
    ) -> AbstractContextManager[None]:
        """The visit read with the next read (the caller's token), and what
        ``then`` names from it with the read after that (the staff member)."""

        def after(found: list[Any]) -> list[Any]:
            item = next((f for f in found if isinstance(f, VisitItem)), None)
            reads = then(visit_from_item(item) if item else None)
            keys: list[Any] = []
            if reads.customer_key is not None:
                keys.append(CustomerItem(customer_key=reads.customer_key))
            if reads.record is not None:
                registrant_id, registration_id = reads.record
                keys.append(
                    RegistrationItem(registrant_id=registrant_id, registration_id=registration_id)
                )
            if reads.audit is not None:
                at = position(reads.audit.at, reads.audit.entry_id)
                keys.append(AuditItem(subject=reads.audit.subject, position=at))
            return keys

        first = [VisitItem(visit_id=visit_id)] if visit_id is not None else []
        return self.reading_ahead(first, after)

    def registration_as_read(self, registrant_id: str, registration_id: str) -> RecordAsRead | None:
        item = self._get(
            RegistrationItem(registrant_id=registrant_id, registration_id=registration_id)
        )
        if item is None:
            return None
        return RecordAsRead(
            registrant_id=item.registrant_id,
            registration_id=item.registration_id,
            claim=claim_from_map(item.claim),
            protected_recorded_at=item.protected_recorded_at,
            _raw=item.serialize(),
        )

    def audit_stored(self, entry: AuditEntry) -> bool:
        """Whether an entry with this subject, time and id is stored."""
        at = position(entry.at, entry.entry_id)
        return self._get(AuditItem(subject=entry.subject, position=at)) is not None

    def event_stored(self, event: Event) -> bool:
        """Whether this event is stored at its position."""
        at = event_position(event)
        return self._get(EventItem(registrant_id=event.registrant_id, position=at)) is not None

    def save_decision_records(
        self,
        record: tuple[RecordAsRead, Claim, datetime] | None,
        event: Event | None,
        audit: AuditEntry | None,
    ) -> None:
        """What follows a decision, in one BatchWriteItem of plain puts: the
        registrant's record as read with the committed claim and the position
        of its ``registration.protected`` event, that event, the audit entry.
        Each is derived from the committed customer and visit, so whoever
        writes them writes the same items (services/floor/ownership.py says when)."""
        items: list[Any] = []
        if record is not None:
            read, claim, recorded_at = record
            item = RegistrationItem.from_raw_data(dict(read._raw))
            item.claim = claim_to_map(claim)
            item.protected_recorded_at = recorded_at
            items.append(item)
        if event is not None:
            items.append(event_item(event))
        if audit is not None:
            items.append(audit_item(audit))
        if items:
            self._batch_put(items)

    # -- visits -----------------------------------------------------------------

    def get_visit(self, visit_id: str) -> Visit | None:
        item = self._get(VisitItem(visit_id=visit_id))  # or read ahead (ahead.py)
        return visit_from_item(item) if item else None

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

    def outcome_counts(self, day: date) -> dict[str, int]:
        """The registration outcomes of a local day, counted per claimant:
        ``<claimant>#accepted`` and ``<claimant>#refused#<rule>#<code>`` (an
        empty rule or code when it has none). Walk-ins (no claimant) are not
        counted.

        Counted from the day's audit entries (the ``by_day`` index), which
        every registration writes in the same batch as its records: exact (a
        count lost after the answer can no longer leave the report one
        short), at one Query per day, of only the attributes counted; more
        pages only past 1 MB of entries, a few thousand outcomes a day."""
        counts: dict[str, int] = {}
        with unavailable_on_outage():
            items = AuditItem.by_day.query(day.isoformat(), attributes_to_get=_OUTCOME)
            for item in items:
                name = _outcome_name(item)
                if name is not None:
                    counts[name] = counts.get(name, 0) + 1
        return counts

    def outcomes_since(self, day: date, since: datetime) -> Iterator[AuditEntry]:
        """The registration outcomes of a local day recorded at or after ``since``."""
        with unavailable_on_outage():
            after = AuditItem.position >= f"{int(since.timestamp() * 1000):013d}"
            for item in AuditItem.by_day.query(day.isoformat(), range_key_condition=after):
                yield audit_from_item(item)


# what outcome_counts reads of an audit entry
_OUTCOME = ["claimant", "action", "rule", "code"]


def _outcome_name(item: AuditItem) -> str | None:
    if item.claimant is None:
        return None
    if item.action == "registration.accepted":
        return f"{item.claimant}#accepted"
    if item.action == "registration.refused":
        return f"{item.claimant}#refused#{item.rule or ''}#{item.code or ''}"
    return None

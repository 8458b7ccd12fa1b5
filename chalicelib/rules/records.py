"""Plain records the services pass between the rules and the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .claims import Claim, Source

# API.md: the first answer for an Idempotency-Key is kept for 24 hours.
IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Registrant:
    registrant_id: str
    kind: Source  # channel, distribution or ecommerce: from the record, never the request
    name: str
    secret: str
    enabled: bool
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    # when it was stored, as read back (None: not read from the store); not
    # part of what the registrant is
    created_at: datetime | None = field(default=None, compare=False)

    def secrets_at(self, now: datetime) -> tuple[str, ...]:
        """The secrets that sign for it now: the current one, and the
        previous one for 24 hours after a rotation."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return (self.secret, self.previous_secret)
        return (self.secret,)


@dataclass(frozen=True)
class Registration:
    """What a registrant may read about one of its registrations."""

    claim: Claim
    customer_key: str
    customer_name: str
    phone_masked: str
    visit_at: datetime | None
    note: str | None
    recorded_at: datetime  # when its records were written (feed position)

    @property
    def registration_id(self) -> str:
        return self.claim.registration_id

    @property
    def registrant_id(self) -> str:
        return self.claim.registrant_id


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given to (registrant, Idempotency-Key)."""

    registrant_id: str
    idempotency_key: str
    request_hash: str
    code: str | None  # None: the registration was accepted
    body: str | None  # JSON, replayed byte for byte; None: still being decided
    created_at: datetime  # of the answer, or of the reservation while pending

    @property
    def pending(self) -> bool:
        """A reservation: the request holding the key has not answered yet."""
        return self.body is None


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    registrant_id: str
    registration_id: str
    occurred_at: datetime
    # when it entered the feed: the feed's order. Equal to occurred_at except
    # for an event written late (a retry completing a died request), which
    # must land ahead of every cursor already handed out.
    recorded_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One decision, appended and never edited: who did what, when, and why."""

    subject: str  # whose history it belongs to: "customer:<key>", "broker:<id>", …
    entry_id: str
    at: datetime
    action: str  # e.g. registration.accepted, registration.refused, late_entry.approved
    actor: str  # the registrant or staff member who asked
    request_id: str | None
    rule: str | None = None
    code: str | None = None
    registration_id: str | None = None
    detail: str | None = None  # a short, phone-free description
    # registration outcomes only, for the daily report (R-REG-2): the local
    # date (ISO) and the registrant or broker the registration was for
    day: str | None = None
    claimant: str | None = None

"""A customer's claims: who holds them, for how long, and whether they live.

The customer is the unit of consistency: every decision about a customer
reads its whole history of claims and replaces it in one write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum


class Source(StrEnum):
    CHANNEL = "channel"
    DISTRIBUTION = "distribution"
    ECOMMERCE = "ecommerce"
    BROKER = "broker"
    CONSULTANT = "consultant"


class Status(StrEnum):
    PROVISIONAL = "provisional"
    PROTECTED = "protected"
    LAPSED = "lapsed"
    EXPIRED = "expired"
    CONVERTED = "converted"
    OWNED = "owned"  # a consultant's walk-in, until reclaimed (R-RECLAIM-1)
    RECLAIMED = "reclaimed"


@dataclass(frozen=True)
class Period:
    starts_at: datetime
    ends_at: datetime  # exclusive: the period is over at this instant


@dataclass(frozen=True)
class Claim:
    registration_id: str
    registrant_id: str
    source: Source
    created_at: datetime
    # R-PROT-1 ordinal; None for a report that does not count (R-PROT-3)
    ordinal: int | None
    protection: Period | None
    visit_window: Period | None = None  # R-REG-3 provisional hold
    converted_at: datetime | None = None
    reclaimed_at: datetime | None = None  # consultant ownership ends (R-RECLAIM-1)
    confirmed_visit_id: str | None = None  # R-REG-3: the visit that confirmed the hold
    # R-REG-3: an accompanied arrival logged inside the window keeps the hold
    # until 判客 can no longer confirm it (rules.floor.arrival_logged)
    arrival_visit_id: str | None = None
    held_until: datetime | None = None
    # what created it, so a retried request is recognised (idempotency)
    idempotency_key: str | None = None
    request_hash: str | None = None

    def status(self, now: datetime) -> Status:
        if self.converted_at is not None and self.converted_at <= now:
            return Status.CONVERTED
        if self.source is Source.CONSULTANT:
            reclaimed = self.reclaimed_at is not None and self.reclaimed_at <= now
            return Status.RECLAIMED if reclaimed else Status.OWNED
        if self.protection is not None:
            return Status.PROTECTED if now < self.protection.ends_at else Status.EXPIRED
        hold_ends = self.hold_ends_at()
        if hold_ends is not None and now < hold_ends:
            return Status.PROVISIONAL
        return Status.LAPSED

    def hold_ends_at(self) -> datetime | None:
        """R-REG-3: when a provisional hold lapses: when its window closes, or,
        once its agency's accompanied arrival inside the window is logged,
        when 判客 can no longer confirm it (only an unvisited hold lapses with
        its window; decision 0004)."""
        if self.visit_window is None:
            return None
        if self.held_until is None:
            return self.visit_window.ends_at
        return max(self.visit_window.ends_at, self.held_until)

    def is_live(self, now: datetime) -> bool:
        """R-DUP-1: a protection not yet ended, a hold still in its window, or a
        consultant's own-visit customer not yet reclaimed. A deal does not end
        a protection (R-PROT-2): a converted one lives to its end (decision 0005)."""
        status = self.status(now)
        if status is Status.CONVERTED:
            return self.protection is not None and now < self.protection.ends_at
        return status in (Status.PROTECTED, Status.PROVISIONAL, Status.OWNED)

    def counts_toward_limit(self) -> bool:
        """R-PROT-1 counts protections that took effect; lapsed holds do not."""
        return self.protection is not None and self.ordinal is not None


@dataclass(frozen=True)
class LateApproval:
    """A sales manager's approval of a late entry (R-REG-1, R-REG-2).

    Created by staff (a later capability); the registration rules only read it.
    """

    registrant_id: str
    visit_date: date
    approved_at: datetime
    approved_by: str
    reason: str


@dataclass(frozen=True)
class Tenure:
    """A consultant's ownership of a customer (R-RECLAIM-1): from a walk-in,
    from receiving them on the floor, or from the reclaim pool; until reclaimed."""

    consultant_id: str
    since: datetime
    how: str  # walk_in | floor | pool
    until: datetime | None = None

    def covers(self, at: datetime) -> bool:
        return self.since <= at and (self.until is None or at < self.until)


@dataclass(frozen=True)
class Deal:
    """成交: credited to the consultant who owned the customer at that instant
    and to the recommender whose protection was live then, if any."""

    at: datetime
    recorded_by: str
    consultant_id: str | None
    registration_id: str | None
    registrant_id: str | None


@dataclass(frozen=True)
class Customer:
    claims: tuple[Claim, ...] = ()
    approvals: tuple[LateApproval, ...] = ()
    version: int | None = None  # None: not yet stored
    phone: str | None = None  # normalized; known once stored
    tenures: tuple[Tenure, ...] = ()
    last_visit_at: datetime | None = None
    deal: Deal | None = None
    pooled_at: datetime | None = None  # in the reclaim pool since
    # the sweep has recorded every notice due up to this instant
    swept_until: datetime | None = None
    # when the jobs next have something to do (set by rules.schedule)
    sweep_due: datetime | None = None
    reclaim_due: datetime | None = None

    def open_tenure(self) -> Tenure | None:
        """The consultant's ownership not yet ended by a reclaim, if any."""
        current = self.tenures[-1] if self.tenures else None
        return current if current is not None and current.until is None else None

    def consultant_at(self, at: datetime) -> str | None:
        """The consultant who owned the customer at ``at``, if any."""
        held = [t for t in self.tenures if t.covers(at)]
        return held[-1].consultant_id if held else None

    def live_claim(self, now: datetime) -> Claim | None:
        return next((c for c in self.claims if c.is_live(now)), None)

    def recommendations(self) -> int:
        return sum(1 for c in self.claims if c.counts_toward_limit())

    def claim_from_request(self, registrant_id: str, idempotency_key: str) -> Claim | None:
        return next(
            (
                c
                for c in self.claims
                if c.registrant_id == registrant_id and c.idempotency_key == idempotency_key
            ),
            None,
        )

    def approval_for(self, registrant_id: str, visit_date: date) -> LateApproval | None:
        return next(
            (
                a
                for a in self.approvals
                if a.registrant_id == registrant_id and a.visit_date == visit_date
            ),
            None,
        )

    def with_claim(self, claim: Claim) -> Customer:
        return replace(self, claims=(*self.claims, claim))

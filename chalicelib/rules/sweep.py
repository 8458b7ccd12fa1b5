"""What the hourly sweep records (R-PROT-2, R-REG-3): the moments a claim's
state changes with nobody calling, as events for the registrant's feed.

Nothing here ends a protection: ``Claim.status(now)`` already compares end
times with ``now``. The sweep only makes those moments visible as events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .claims import Claim, Customer, Source
from .policy import Policy

# registrants that read a feed: brokers and consultants have none
FEED_SOURCES = frozenset({Source.CHANNEL, Source.DISTRIBUTION, Source.ECOMMERCE})


class Notice(StrEnum):
    ENDING_SOON = "protection.ending_soon"
    ENDED = "protection.ended"
    LAPSED = "registration.lapsed"


@dataclass(frozen=True)
class Due:
    claim: Claim
    notice: Notice
    at: datetime  # the instant it became true


def moments(claim: Claim, policy: Policy) -> list[Due]:
    """Every notice a claim will ever be due, whether or not it is due yet."""
    if claim.source not in FEED_SOURCES:
        return []
    due: list[Due] = []
    if claim.protection is not None:
        soon = claim.protection.ends_at - timedelta(days=policy.ending_soon_days)
        if soon > claim.protection.starts_at:
            due.append(Due(claim, Notice.ENDING_SOON, soon))
        due.append(Due(claim, Notice.ENDED, claim.protection.ends_at))
    else:
        # R-REG-3: a hold its agency's visit keeps for 判客 lapses only after that
        lapses = claim.hold_ends_at()
        if lapses is not None:
            due.append(Due(claim, Notice.LAPSED, lapses))
    # a customer who bought is converted: nothing ends after the deal
    converted = claim.converted_at
    return [d for d in due if converted is None or d.at < converted]


def due_between(
    customer: Customer, after: datetime | None, until: datetime, policy: Policy
) -> list[Due]:
    """The notices that became due in (after, until], oldest first."""
    found = [
        d
        for claim in customer.claims
        for d in moments(claim, policy)
        if (after is None or d.at > after) and d.at <= until
    ]
    return sorted(found, key=lambda d: (d.at, d.claim.registration_id, d.notice.value))


def next_due(customer: Customer, after: datetime | None, policy: Policy) -> datetime | None:
    """The first moment after ``after`` the sweep has something to record."""
    later = [
        d.at
        for claim in customer.claims
        for d in moments(claim, policy)
        if after is None or d.at > after
    ]
    return min(later, default=None)

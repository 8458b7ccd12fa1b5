"""R-DUP-1 seen from the other side: a registrant whose registrations are
mostly refused as duplicates may be probing which phones are registered.
Not a refusal: a signal for the operator (an alarm), never a block."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .records import AuditEntry

# a mask matching a live claim says as much about the number (decision 0013)
DUPLICATES = frozenset({"DUPLICATE_LIVE_CLAIM", "MASKED_CLAIM_MATCH"})


@dataclass(frozen=True)
class Suspect:
    claimant: str
    attempts: int
    duplicates: int

    @property
    def share(self) -> float:
        return self.duplicates / self.attempts


def suspects(outcomes: Iterable[AuditEntry], min_attempts: int, share: float) -> list[Suspect]:
    """Claimants with at least ``min_attempts`` outcomes, at least ``share``
    of them duplicate refusals, most duplicates first."""
    attempts: Counter[str] = Counter()
    duplicates: Counter[str] = Counter()
    for entry in outcomes:
        claimant = entry.claimant or entry.actor
        attempts[claimant] += 1
        if entry.code in DUPLICATES:
            duplicates[claimant] += 1
    found = [
        Suspect(claimant, attempts[claimant], duplicates[claimant])
        for claimant in attempts
        if attempts[claimant] >= min_attempts and duplicates[claimant] >= share * attempts[claimant]
    ]
    return sorted(found, key=lambda s: (-s.duplicates, s.claimant))

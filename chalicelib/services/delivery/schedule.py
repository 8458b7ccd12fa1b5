"""When a failed delivery is tried again: pure arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta

RETRY_FOR = timedelta(hours=24)
# after the 1st, 2nd, … failed attempt; the last step repeats. With the
# final attempt at the 24-hour mark: 10 attempts for an endpoint that is down
BACKOFF = tuple(timedelta(minutes=m) for m in (1, 5, 15, 30, 60, 120, 240, 480))
# how long a worker holds a delivery it is sending (longer than any send)
LEASE = timedelta(seconds=60)
LOG_KEPT = 20  # the last attempts a delivery keeps in its log


def next_attempt(failed_attempts: int, now: datetime, deadline: datetime) -> datetime | None:
    """After ``failed_attempts`` failures, the last at ``now``: when to try
    again, or None when the deadline has passed (dead-lettered)."""
    if now >= deadline:
        return None
    step = BACKOFF[min(failed_attempts, len(BACKOFF)) - 1]
    return min(now + step, deadline)

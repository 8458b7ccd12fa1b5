"""A per-registrant token bucket for this instance (429 RATE_LIMITED).

It guards one instance against a runaway client; the account-wide limit is
the API Gateway stage throttle of the deployed stack.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_second: float, burst: int) -> None:
        self._rate = per_second
        self._burst = burst
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def retry_after(self, caller: str, now: float) -> int | None:
        """Take a token; None when allowed, else the seconds to wait."""
        with self._lock:
            bucket = self._buckets.setdefault(caller, _Bucket(float(self._burst), now))
            # requests served side by side may bring their clocks out of order:
            # an earlier instant refills nothing (and never drains the bucket)
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate)
            bucket.at = max(bucket.at, now)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return max(1, math.ceil((1 - bucket.tokens) / self._rate))

"""The per-registrant token bucket (429 RATE_LIMITED)."""

from __future__ import annotations

from chalicelib.services.registration.ratelimit import RateLimiter


def test_a_burst_is_allowed_then_the_rate_refills_it():
    limiter = RateLimiter(per_second=2, burst=3)
    assert [limiter.retry_after("reg_a", 100.0) for _ in range(3)] == [None, None, None]
    assert limiter.retry_after("reg_a", 100.0) == 1
    assert limiter.retry_after("reg_a", 100.5) is None  # half a second: one token back
    assert limiter.retry_after("reg_b", 100.5) is None  # each registrant its own bucket


def test_requests_whose_clocks_arrive_out_of_order_never_drain_the_bucket():
    """Found by the launch-day burst: a request stamped a second before the
    last one made the refill negative and answered 429 with tokens to spare."""
    limiter = RateLimiter(per_second=1000, burst=1000)
    assert limiter.retry_after("reg_a", 101.0) is None
    assert limiter.retry_after("reg_a", 100.0) is None
    assert limiter.retry_after("reg_a", 101.0) is None

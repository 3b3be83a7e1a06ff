"""Backoff: full jitter within the exponential ceiling, Retry-After honoured in both forms."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from ops_evidence.delivery.backoff import RetryPolicy, parse_retry_after


def test_full_jitter_stays_under_the_ceiling() -> None:
    """Delays are spread over [0, min(cap, base*2^n)] and reach near the ceiling."""
    policy, rng = RetryPolicy(base=1, cap=30), random.Random(7)
    for attempts, ceiling in ((0, 1), (3, 8), (10, 30)):
        delays = [policy.delay(attempts, rng) for _ in range(500)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.9
        assert min(delays) < ceiling * 0.1


def test_retry_after_is_a_floor_with_a_cap() -> None:
    """Never retry before Retry-After; never wait longer than retry_after_cap."""
    policy, rng = RetryPolicy(base=1, cap=2, retry_after_cap=100), random.Random(1)
    assert all(policy.delay(0, rng, 40) >= 40 for _ in range(50))
    assert policy.delay(0, rng, 10_000) == 100


def test_parse_retry_after_seconds_and_http_date() -> None:
    """`120` is 120 s; an HTTP-date is the time until then; garbage is None."""
    now = datetime(2015, 10, 21, 7, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 28 * 60
    assert parse_retry_after("Wed, 21 Oct 2015 06:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None

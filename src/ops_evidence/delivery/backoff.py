"""Retry timing: exponential backoff with full jitter, `Retry-After`, give-up horizon.

Anchors: full jitter (`sleep = random(0, min(cap, base * 2**attempt))`) from the AWS
Architecture Blog, "Exponential Backoff And Jitter" (2015), which spreads retries of many
clients best; `Retry-After` as delay-seconds or HTTP-date per RFC 9110 §10.2.3. The defaults
are written down in docs/operations.md.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ops_evidence.config.settings import Settings


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Timing knobs of the delivery retries (seconds)."""

    base: float = 1.0
    cap: float = 300.0
    retry_after_cap: float = 3600.0
    auth_retry: float = 300.0
    defer_recheck: float = 3600.0
    horizon: float = 72 * 3600.0
    fallback_after: float = 600.0
    lease: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy with the operator's OPS_EVIDENCE_RETRY_* settings."""
        return cls(
            base=settings.retry_base.total_seconds(),
            cap=settings.retry_cap.total_seconds(),
            horizon=settings.retry_horizon.total_seconds(),
            # A lease must outlive one attempt: read-back plus post, each with its timeout.
            lease=max(60.0, 4 * settings.http_timeout.total_seconds()),
        )

    def delay(self, attempts: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after `attempts` failed tries; never less than Retry-After."""
        ceiling = min(self.cap, self.base * 2 ** min(attempts, 32))
        jittered = rng.uniform(0, ceiling)
        if retry_after is not None:
            return min(max(jittered, retry_after), self.retry_after_cap)
        return jittered

    def slow(self, rng: random.Random) -> float:
        """Delay after an auth failure: slow, jittered between 50% and 100%."""
        return rng.uniform(self.auth_retry / 2, self.auth_retry)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now: `120` or `Wed, 21 Oct 2015 07:28:00 GMT`."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())

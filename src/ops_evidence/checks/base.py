"""What every check result shares: an optional `Failure`, and how to make one safely."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ops_evidence.redact import redact_text

_MESSAGE_LIMIT = 300


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a check did not verify: `reason` is machine-readable, `message` for humans."""

    reason: str
    message: str

    @classmethod
    def of(cls, reason: str, message: str) -> Failure:
        """A failure whose message is redacted and capped (it may quote the outside world)."""
        return cls(reason=reason, message=redact_text(message, limit=_MESSAGE_LIMIT))


def elapsed_ms(started: float) -> float:
    """Milliseconds since a `time.perf_counter()` reading, rounded for evidence."""
    return round((time.perf_counter() - started) * 1000, 2)

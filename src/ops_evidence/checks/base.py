"""What every check result shares: an optional `Failure`, and how to make one safely."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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


def describe_exception(exc: BaseException) -> str:
    """`TypeName: text` of an exception, for a failure message (redacted by `Failure.of`)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def elapsed_ms(started: float) -> float:
    """Milliseconds since a `time.perf_counter()` reading, rounded for evidence."""
    return round((time.perf_counter() - started) * 1000, 2)


@lru_cache(maxsize=32)
def ssl_context(verify: bool = True, ca_file: Path | None = None) -> ssl.SSLContext:
    """A client TLS context, cached: building one (loading the trust store) costs milliseconds.

    Caching the context does not share connections; each probe still opens its own.
    """
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

"""Map exceptions from sockets, TLS and httpx to short machine reasons.

Libraries wrap the root cause (httpx wraps httpcore wraps OSError), so the chain of
`__cause__` / `__context__` is walked and the most specific known cause wins.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx

from ops_evidence.checks.base import Failure
from ops_evidence.errors import describe_exception


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


# Most specific first: an SSLCertVerificationError is also an SSLError and an OSError.
_CAUSES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (ssl.SSLCertVerificationError, "tls_verify_failed"),
    (ssl.SSLError, "tls_error"),
    (socket.gaierror, "dns_failure"),
    (ConnectionRefusedError, "connection_refused"),
    ((TimeoutError, httpx.TimeoutException), "timeout"),
    (httpx.RemoteProtocolError, "protocol_error"),
)


def reason_for(exc: BaseException) -> str:
    """The machine reason for a network failure: `timeout`, `connection_refused`, …"""
    for cause in _chain(exc):
        for kind, reason in _CAUSES:
            if isinstance(cause, kind):
                return reason
    if isinstance(exc, httpx.ConnectError | OSError):
        return "connect_failed"
    return "http_error" if isinstance(exc, httpx.HTTPError) else "error"


def verification_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate-verification error behind `exc`, if that is what it was."""
    return next((c for c in _chain(exc) if isinstance(c, ssl.SSLCertVerificationError)), None)


def failure_from(exc: BaseException, target: str) -> Failure:
    """A `Failure` for an exception raised while talking to `target`."""
    reason = reason_for(exc)
    root = next((c for c in _chain(exc) if isinstance(c, ssl.SSLError | OSError)), exc)
    return Failure.of(reason, f"{target}: {reason.replace('_', ' ')} ({describe_exception(root)})")

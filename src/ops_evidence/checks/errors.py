"""Map exceptions from sockets, TLS and httpx to short machine reasons.

Libraries wrap the root cause (httpx wraps httpcore wraps OSError), so the chain of
`__cause__` / `__context__` is walked and the most specific known cause wins. The message
says it in plain words (`plain_words`): no `[Errno 2]`, no h11 state names, no `_ssl.c` line.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator

import httpx

from ops_evidence.checks.base import Failure
from ops_evidence.http.trust import CaFileError


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


# Most specific first: an SSLCertVerificationError is also an SSLError and an OSError.
_CAUSES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (CaFileError, "config_error"),
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
    return Failure.of(reason, f"{target}: {reason.replace('_', ' ')} ({plain_words(root)})")


# What h11 (through httpx) and OpenSSL say, and what an operator understands.
_PLAIN: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"can't handle event type ConnectionClosed when role=SERVER and state=\w+"),
        "the server closed the connection without answering",
    ),
    (
        re.compile(r"peer unexpectedly closed connection"),
        "the connection closed before a complete answer",
    ),
    (
        re.compile(r"peer closed connection without sending complete message body \((.*)\)"),
        r"the connection closed before the whole body arrived (\1)",
    ),
    (re.compile(r"illegal status line"), "the answer is not HTTP; its first line"),
    (re.compile(r"illegal header line"), "malformed header line"),
    (re.compile(r"bytearray\(b?(['\"])(.*)\1\)"), r"\2"),
    (re.compile(r"^\[[A-Z0-9_]+: [A-Z0-9_]+\] | \(_ssl\.c:\d+\)$"), ""),
)


def plain_words(exc: BaseException) -> str:
    """What went wrong, for an operator: an OS error's text (and file), OpenSSL's reason,
    h11's complaints rephrased; the exception's type name only when it says nothing else."""
    if isinstance(exc, CaFileError):
        return exc.message
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError) and exc.strerror:
        words = exc.strerror[:1].lower() + exc.strerror[1:]
        return f"{words}: {exc.filename}" if exc.filename else words
    text = str(exc).strip()
    for pattern, words in _PLAIN:
        text = pattern.sub(words, text)
    if not text:
        return "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
    return text

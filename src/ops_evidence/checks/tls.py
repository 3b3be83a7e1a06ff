"""TLS: handshake, chain verification, and the facts of every certificate presented.

Verification is OpenSSL's, with the same context every probe uses. Only when it refuses the
certificate is a second handshake made, without verification, to read the chain anyway: a
self-signed, unknown-issuer or wrong-name certificate still reports its dates and fingerprint,
with `verified: false` and OpenSSL's reason. (Handshaking unverified first and verifying
afterwards would mean rebuilding OpenSSL's path building here; the second handshake costs a
connection only when the first has already failed.)
"""

from __future__ import annotations

import contextlib
import ssl
import time
from dataclasses import dataclass, replace
from pathlib import Path

import anyio
from anyio.streams.tls import TLSAttribute

from ops_evidence.checks.base import Failure, elapsed_ms
from ops_evidence.checks.certificates import (
    CertInfo,
    TlsFacts,
    presented_chain,
    unverified_facts,
)
from ops_evidence.checks.errors import failure_from, verification_error
from ops_evidence.http.trust import ssl_context

# The unverified second handshake gets what is left of the budget, but at least this much.
_MIN_RETRY_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class TlsResult:
    """Outcome of a TLS handshake; `tls` is kept when verification failed, too."""

    target: str
    tls: TlsFacts | None = None
    latency_ms: float | None = None
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class TlsTarget:
    """Where to handshake and what to trust."""

    host: str
    port: int = 443
    server_name: str | None = None
    ca_file: Path | None = None
    timeout: float = 10.0


async def _handshake(target: TlsTarget, context: ssl.SSLContext) -> tuple[CertInfo, ...]:
    """Connect, handshake, and read the presented chain before closing."""
    stream = await anyio.connect_tcp(
        target.host,
        target.port,
        ssl_context=context,
        tls_hostname=target.server_name or target.host,
    )
    try:
        chain = presented_chain(stream.extra(TLSAttribute.ssl_object))  # noqa: S610 - anyio, not Django
    finally:
        # The certificate is read; a peer that drops the TLS close is not a failure.
        with contextlib.suppress(anyio.BrokenResourceError, OSError, ssl.SSLError):
            await stream.aclose()
    return chain


async def read_unverified(
    target: TlsTarget, error: ssl.SSLCertVerificationError
) -> TlsFacts | None:
    """The chain of a server whose certificate `error` refused; None when it can't be read."""
    try:
        with anyio.fail_after(max(target.timeout, _MIN_RETRY_SECONDS)):
            chain = await _handshake(target, ssl_context(False))
    except (TimeoutError, OSError, ssl.SSLError, anyio.BrokenResourceError):
        return None
    return unverified_facts(chain, error, target.server_name or target.host)


async def check_tls(target: TlsTarget) -> TlsResult:
    """Handshake with verification and read the presented chain; never raises."""
    where = f"{target.host}:{target.port}"
    started = time.perf_counter()
    try:
        with anyio.fail_after(target.timeout):
            chain = await _handshake(target, ssl_context(True, target.ca_file))
    except TimeoutError:
        return TlsResult(where, failure=Failure.of("timeout", f"{where}: no handshake in time"))
    except (OSError, ssl.SSLError, anyio.BrokenResourceError) as exc:
        failed = TlsResult(where, failure=failure_from(exc, where))
        error = verification_error(exc)
        if error is None:
            return failed
        left = target.timeout - (time.perf_counter() - started)
        return replace(failed, tls=await read_unverified(replace(target, timeout=left), error))
    if not chain:
        return TlsResult(
            where,
            failure=Failure.of("tls_no_certificate", f"{where}: no certificate could be read"),
        )
    return TlsResult(where, tls=TlsFacts(chain), latency_ms=elapsed_ms(started))

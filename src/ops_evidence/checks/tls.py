"""TLS: handshake, chain verification, certificate lifetime, subject / issuer / serial / SANs.

Python 3.11's `ssl` exposes only the verified leaf certificate as a dict; the leaf is, in
practice, the earliest-expiring certificate of a chain, and verification covers the rest.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.tls import TLSAttribute

from ops_evidence.checks.base import Failure, elapsed_ms
from ops_evidence.checks.errors import failure_from
from ops_evidence.http.trust import ssl_context


@dataclass(frozen=True, slots=True)
class CertInfo:
    """The facts of one certificate that evidence may carry."""

    not_after: datetime
    subject: str
    issuer: str
    serial: str
    sans: tuple[str, ...] = ()

    def days_remaining(self, now: datetime) -> int:
        """Whole days until expiry (negative once expired)."""
        return (self.not_after - now).days


@dataclass(frozen=True, slots=True)
class TlsResult:
    """Outcome of a TLS handshake."""

    target: str
    cert: CertInfo | None = None
    latency_ms: float | None = None
    failure: Failure | None = None


def _name(rdns: Any) -> str:
    parts = [f"{key}={value}" for rdn in rdns or () for key, value in rdn]
    return ",".join(parts)[:200]


def _serial(hex_digits: str) -> str:
    # Colon-separated like openssl prints it; a bare 40-digit hex run would read as a token.
    digits = hex_digits.upper().rjust(len(hex_digits) + len(hex_digits) % 2, "0")
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))[:200]


def cert_info(peer: dict[str, Any] | None) -> CertInfo | None:
    """Parse `SSLSocket.getpeercert()` (verified form); None when there is no certificate."""
    if not peer or "notAfter" not in peer:
        return None
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(peer["notAfter"]), UTC)
    sans = tuple(str(value) for kind, value in peer.get("subjectAltName", ()) if kind == "DNS")
    return CertInfo(
        not_after=not_after,
        subject=_name(peer.get("subject")),
        issuer=_name(peer.get("issuer")),
        serial=_serial(str(peer.get("serialNumber", ""))),
        sans=sans[:20],
    )


def cert_of(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> CertInfo | None:
    """The leaf certificate of a connection, when it was verified."""
    if ssl_object is None:
        return None
    return cert_info(ssl_object.getpeercert())


@dataclass(frozen=True, slots=True)
class TlsTarget:
    """Where to handshake and what to trust."""

    host: str
    port: int = 443
    server_name: str | None = None
    ca_file: Path | None = None
    timeout: float = 10.0


async def check_tls(target: TlsTarget) -> TlsResult:
    """Connect, handshake with verification, read the leaf certificate; never raises."""
    where = f"{target.host}:{target.port}"
    started = time.perf_counter()
    try:
        with anyio.fail_after(target.timeout):
            stream = await anyio.connect_tcp(
                target.host,
                target.port,
                ssl_context=ssl_context(True, target.ca_file),
                tls_hostname=target.server_name or target.host,
            )
            try:
                cert = cert_of(stream.extra(TLSAttribute.ssl_object))  # noqa: S610 - anyio, not Django
            finally:
                # The certificate is read; a peer that drops the TLS close is not a failure.
                with contextlib.suppress(anyio.BrokenResourceError, OSError, ssl.SSLError):
                    await stream.aclose()
    except TimeoutError:
        return TlsResult(where, failure=Failure.of("timeout", f"{where}: no handshake in time"))
    except (OSError, ssl.SSLError, anyio.BrokenResourceError) as exc:
        return TlsResult(where, failure=failure_from(exc, where))
    if cert is None:
        return TlsResult(where, failure=Failure.of("tls_no_certificate", f"{where}: no cert"))
    return TlsResult(where, cert=cert, latency_ms=elapsed_ms(started))

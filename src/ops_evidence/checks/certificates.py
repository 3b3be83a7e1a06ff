"""The certificates a TLS server presents: read from the connection, parsed, judged by time.

Python 3.11's public `ssl` API decodes only the leaf, and only once it was verified. CPython
3.10+ keeps the whole presented chain behind `SSLObject._sslobj.get_unverified_chain()` (made
public as `get_unverified_chain()` in 3.13); `presented_chain` prefers the public method,
then the private one, and falls back to the leaf alone (`getpeercert(binary_form=True)`),
saying which it used (`CHAIN_SOURCE`), so a test fails loudly if a Python loses the chain.
The DER is parsed with `cryptography` (PyCA), not by hand.

Days left are rounded DOWN to one decimal (2.99 days reads 2.9, never a 3.0 that looks like
it meets `min_days: 3`); the comparison with `min_days` is exact, in seconds.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

_MAX_CHAIN = 10
_TENTH_OF_A_DAY = timedelta(days=0.1)
_SHORT = 200
_ENCODING_DER = 2  # `_ssl.ENCODING_DER`, the argument of the private Certificate.public_bytes
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH_CODES = frozenset({62, 64})


def _colon_hex(data: bytes) -> str:
    # Colon-separated like openssl prints it; a bare hex run would read as a token to redact.
    return ":".join(f"{byte:02X}" for byte in data)


def _serial(number: int) -> str:
    # abs: RFC 5280 serials are positive, but a malformed negative one must not raise here.
    number = abs(number)
    return _colon_hex(number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big"))[:_SHORT]


def _name(name: x509.Name) -> str:
    return name.rfc4514_string()[:_SHORT]


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    names = [str(n) for n in extension.value.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in extension.value.get_values_for_type(x509.IPAddress)]
    return tuple(name[:_SHORT] for name in names[:20])


@dataclass(frozen=True, slots=True)
class CertInfo:
    """The facts of one certificate that evidence may carry (all public)."""

    not_after: datetime
    subject: str
    issuer: str
    serial: str
    sans: tuple[str, ...] = ()
    not_before: datetime | None = None
    fingerprint_sha256: str = ""

    def remaining(self, now: datetime) -> timedelta:
        """Time until expiry, exact (negative once expired)."""
        return self.not_after - now


def parse_der(der: bytes) -> CertInfo:
    """The facts of one DER-encoded certificate."""
    cert = x509.load_der_x509_certificate(der)
    return CertInfo(
        not_after=cert.not_valid_after_utc,
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        serial=_serial(cert.serial_number),
        sans=_sans(cert),
        not_before=cert.not_valid_before_utc,
        fingerprint_sha256=_colon_hex(cert.fingerprint(hashes.SHA256())),
    )


def _private_chain(ssl_object: Any) -> list[bytes] | None:
    inner = getattr(ssl_object, "_sslobj", None)
    reader = getattr(inner, "get_unverified_chain", None)
    if reader is None:
        return None
    return [cert.public_bytes(_ENCODING_DER) for cert in reader() or ()]


def _presented_der(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> tuple[str, list[bytes]]:
    public = getattr(ssl_object, "get_unverified_chain", None)  # Python 3.13+
    if public is not None:
        return "public", [bytes(der) for der in public() or ()]
    private = _private_chain(ssl_object)
    if private is not None:
        return "private", private
    leaf = ssl_object.getpeercert(binary_form=True)
    return "leaf_only", [leaf] if leaf else []


def chain_source(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> str:
    """Which API `presented_chain` reads on this Python: `public`, `private` or `leaf_only`."""
    return _presented_der(ssl_object)[0]


def presented_chain(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> tuple[CertInfo, ...]:
    """Every certificate the server presented, leaf first, verified or not.

    The chain stops before the first certificate `cryptography` can't parse (it is stricter
    than OpenSSL about some encodings); an unreadable leaf gives an empty chain.
    """
    if ssl_object is None:
        return ()
    chain: list[CertInfo] = []
    for der in _presented_der(ssl_object)[1][:_MAX_CHAIN]:
        try:
            chain.append(parse_der(der))
        except ValueError:
            break
    return tuple(chain)


def days_left(remaining: timedelta) -> float:
    """Days rounded down to one decimal: 2.99 days is 2.9, so it never looks like 3."""
    # Floor division of timedeltas is exact integer arithmetic (no float rounding at 2.9).
    return (remaining // _TENTH_OF_A_DAY) / 10


def _label_match(pattern: str, host: str) -> bool:
    # RFC 6125: a wildcard only as the whole left-most label, matching exactly one label.
    if pattern.startswith("*."):
        return "." in host and host.split(".", 1)[1] == pattern[2:]
    return pattern == host


def names_match(cert: CertInfo, host: str) -> bool:
    """Whether `host` (a DNS name or an IP address) is among the certificate's SANs."""
    host = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return any(_label_match(name.lower(), host) for name in cert.sans)
    return any(name == str(address) for name in cert.sans)


@dataclass(frozen=True, slots=True)
class TlsFacts:
    """What a TLS connection showed: the presented chain and how verification went.

    `verified` is None when verification was off (an endpoint's `verify_tls: false`).
    """

    chain: tuple[CertInfo, ...]
    verified: bool | None = True
    verify_error: str | None = None
    host_matched: bool | None = True

    @property
    def leaf(self) -> CertInfo:
        """The server's own certificate."""
        return self.chain[0]

    @property
    def expires_first(self) -> int:
        """Position in `chain` of the certificate that expires first (0: the leaf)."""
        return min(range(len(self.chain)), key=lambda i: self.chain[i].not_after)


def connection_facts(
    ssl_object: ssl.SSLObject | ssl.SSLSocket | None, *, verify: bool, host: str
) -> TlsFacts | None:
    """Facts of an established connection; with `verify` off, nothing was checked by OpenSSL."""
    chain = presented_chain(ssl_object)
    if not chain:
        return None
    if verify:
        return TlsFacts(chain)
    return TlsFacts(chain, verified=None, host_matched=names_match(chain[0], host))


def unverified_facts(
    chain: tuple[CertInfo, ...], error: ssl.SSLCertVerificationError, host: str
) -> TlsFacts | None:
    """Facts of an unverified connection's chain, after `error` refused the verified one."""
    if not chain:
        return None
    matched = False if error.verify_code in _NAME_MISMATCH_CODES else names_match(chain[0], host)
    reason = str(error.verify_message or error.reason or "verification failed")[:_SHORT]
    return TlsFacts(chain, verified=False, verify_error=reason, host_matched=matched)

"""The certificates a TLS server presents: read from the connection, decoded, judged by time.

Python 3.11's public `ssl` API decodes only the leaf, and only once it was verified. CPython
3.10+ keeps the whole presented chain behind `SSLObject._sslobj.get_unverified_chain()`: a
list of `_ssl.Certificate`s whose `get_info()` is OpenSSL's decoding (the dict
`getpeercert()` returns) and whose `public_bytes()` is the DER (hashed here for the
fingerprint). `presented_chain` reads that, falls back to the verified leaf alone
(`getpeercert()`), and says which it used (`chain_source`), so a test fails loudly if a
Python loses the chain.

Decoded by the OpenSSL the process has loaded anyway, not by the `cryptography` package: its
X.509 module costs 12.7 MiB of resident memory on import (measured, /proc/self/status around
the import, Python 3.11), which the idle-RSS bar of 60 MB (bench/footprint.py: 56.1 MiB
without it, median of three on 2026-12-03) has no room for.

Days left are rounded DOWN to one decimal (2.99 days reads 2.9, never a 3.0 that looks like
it meets `min_days: 3`); the comparison with `min_days` is exact, in seconds.
"""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_MAX_CHAIN = 10
_TENTH_OF_A_DAY = timedelta(days=0.1)
_SHORT = 200
_ENCODING_DER = 2  # `_ssl.ENCODING_DER`, the argument of the private Certificate.public_bytes
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH_CODES = frozenset({62, 64})
# RFC 4514's short names for the attribute types OpenSSL's decoding spells out.
_SHORT_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
}
_RFC4514_SPECIAL = str.maketrans({c: "\\" + c for c in ',+"\\<>;='})

Decoded = tuple[Mapping[str, Any], bytes]
"""One certificate: OpenSSL's decoding (`getpeercert()`'s dict) and its DER."""


def _colon_hex(data: bytes) -> str:
    # Colon-separated like openssl prints it; a bare hex run would read as a token to redact.
    return ":".join(f"{byte:02X}" for byte in data)


def _serial(hex_digits: str) -> str:
    digits = hex_digits.strip().upper()
    digits = digits.rjust(len(digits) + len(digits) % 2, "0")
    return _colon_hex(bytes.fromhex(digits))[:_SHORT]


def _name(rdns: Sequence[Sequence[tuple[str, str]]]) -> str:
    # RFC 4514: most specific RDN first (OpenSSL's decoding lists them the other way round).
    parts = [
        "+".join(f"{_SHORT_NAMES.get(k, k)}={v.translate(_RFC4514_SPECIAL)}" for k, v in rdn)
        for rdn in reversed(rdns)
    ]
    return ",".join(parts)[:_SHORT]


def _sans(entries: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    names = [value for kind, value in entries if kind == "DNS"]
    for kind, value in entries:
        if kind == "IP Address":
            try:  # OpenSSL writes IPv6 uncompressed (and older ones with a newline)
                names.append(str(ipaddress.ip_address(value.strip())))
            except ValueError:
                names.append(value.strip())
    return tuple(name[:_SHORT] for name in names[:20])


def _time(text: str) -> datetime:
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(text), UTC)


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


def cert_info(info: Mapping[str, Any], der: bytes) -> CertInfo:
    """The facts of one certificate from OpenSSL's decoding and its DER; ValueError (or
    KeyError) when the decoding lacks what every certificate has."""
    return CertInfo(
        not_after=_time(info["notAfter"]),
        subject=_name(info.get("subject", ())),
        issuer=_name(info.get("issuer", ())),
        serial=_serial(info.get("serialNumber", "00")),
        sans=_sans(info.get("subjectAltName", ())),
        not_before=_time(info["notBefore"]) if "notBefore" in info else None,
        fingerprint_sha256=_colon_hex(hashlib.sha256(der).digest()),
    )


def _decoded(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> tuple[str, list[Decoded]]:
    inner = getattr(ssl_object, "_sslobj", None)
    reader = getattr(inner, "get_unverified_chain", None)
    if reader is not None:
        certs = reader() or []
        return "private", [(c.get_info(), c.public_bytes(_ENCODING_DER)) for c in certs]
    info, der = ssl_object.getpeercert(), ssl_object.getpeercert(binary_form=True)
    return "leaf_only", [(info, der)] if info and der else []


def chain_source(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> str:
    """Which API `presented_chain` reads on this Python: `private` or `leaf_only`."""
    return _decoded(ssl_object)[0]


def presented_chain(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> tuple[CertInfo, ...]:
    """Every certificate the server presented, leaf first, verified or not.

    The chain stops before the first certificate whose decoding lacks its dates; an
    unreadable leaf gives an empty chain.
    """
    if ssl_object is None:
        return ()
    chain: list[CertInfo] = []
    for info, der in _decoded(ssl_object)[1][:_MAX_CHAIN]:
        try:
            chain.append(cert_info(info, der))
        except (KeyError, ValueError):
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

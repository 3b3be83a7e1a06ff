"""The TLS attributes an https endpoint and a tls access path share, and the expiry verdict.

`min_days` applies to the earliest expiry in the presented chain (an intermediate that
expires before the leaf is caught), compared exactly: remaining seconds < min_days * 86400.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ops_evidence.checks.base import Failure
from ops_evidence.checks.certificates import TlsFacts, days_left

_NO_TLS: dict[str, Any] = {
    "tls_chain": [],
    "tls_verified": None,
    "tls_verify_error": None,
    "tls_host_matched": None,
    "tls_expires_first": None,
    "tls_days_remaining": None,
    "tls_not_after": None,
}


def tls_attributes(tls: TlsFacts | None, now: datetime) -> dict[str, Any]:
    """`tls_chain`, `tls_verified`, … for an event; all empty without TLS facts."""
    if tls is None:
        return dict(_NO_TLS)
    first = tls.chain[tls.expires_first]
    return {
        "tls_chain": [
            {
                "subject": cert.subject,
                "issuer": cert.issuer,
                "sans": list(cert.sans),
                "serial": cert.serial,
                "fingerprint_sha256": cert.fingerprint_sha256,
                "not_before": cert.not_before,
                "not_after": cert.not_after,
            }
            for cert in tls.chain
        ],
        "tls_verified": tls.verified,
        "tls_verify_error": tls.verify_error,
        "tls_host_matched": tls.host_matched,
        "tls_expires_first": tls.expires_first,
        "tls_days_remaining": days_left(first.remaining(now)),
        "tls_not_after": first.not_after,
    }


def _which(tls: TlsFacts) -> str:
    position = tls.expires_first
    if position == 0:
        return "certificate"
    return f"certificate {position} of the chain ({tls.chain[position].subject})"


def expiry_failure(
    tls: TlsFacts | None, now: datetime, min_days: int, where: str
) -> Failure | None:
    """`tls_expiring` when the earliest expiry is less than `min_days` away, naming which."""
    if tls is None:
        return None
    remaining = tls.chain[tls.expires_first].remaining(now)
    if remaining >= timedelta(days=min_days):
        return None
    when = (
        f"expires in {days_left(remaining)} days"
        if remaining > timedelta(0)
        else f"expired {days_left(-remaining)} days ago"
    )
    message = f"{where}: {_which(tls)} {when} (minimum {min_days})"
    return Failure.of("tls_expiring", message)

"""The tls check against nginx serving valid, 3-day and self-signed certificates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ops_evidence.checks.tls import TlsTarget, check_tls
from tests import real_servers as servers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def test_valid_certificate(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """A CA-signed certificate verifies; subject, issuer, serial and SANs are read."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.valid, "localhost", certs.ca_file, 5))
    assert result.failure is None
    assert result.cert is not None
    assert result.cert.days_remaining(datetime.now(UTC)) > 300
    assert "localhost" in result.cert.sans
    assert result.cert.issuer
    assert result.cert.serial


async def test_expiring_certificate_reports_days(
    nginx: servers.Nginx, certs: servers.Certs
) -> None:
    """A certificate expiring in three days reports 3 days remaining."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.expiring, "localhost", certs.ca_file, 5))
    assert result.cert is not None
    assert result.cert.days_remaining(datetime.now(UTC)) == 3


async def test_self_signed_is_rejected(nginx: servers.Nginx) -> None:
    """A self-signed certificate does not verify against the system trust store."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.self_signed, "localhost", None, 5))
    assert result.failure is not None
    assert result.failure.reason == "tls_verify_failed"


async def test_wrong_name_is_rejected(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """A certificate for another name fails hostname verification."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.valid, "other.test", certs.ca_file, 5))
    assert result.failure is not None
    assert result.failure.reason == "tls_verify_failed"


async def test_plain_http_port_is_a_tls_error(nginx: servers.Nginx) -> None:
    """Handshaking with a plain HTTP server fails as a TLS error, not an exception."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.http, None, None, 5))
    assert result.failure is not None
    assert result.failure.reason in {"tls_error", "connect_failed"}


async def test_refused() -> None:
    """Nothing listening is `connection_refused`."""
    result = await check_tls(TlsTarget("127.0.0.1", servers.free_port(), None, None, 5))
    assert result.failure is not None
    assert result.failure.reason == "connection_refused"

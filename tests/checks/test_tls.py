"""The tls check against nginx: valid, 3-day, 2.99-day, self-signed and short-intermediate
certificates, and a name the certificate doesn't cover."""

from __future__ import annotations

import contextlib
import ssl
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from anyio.streams.tls import TLSAttribute

from ops_evidence.checks.certificates import chain_source, days_left
from ops_evidence.checks.tls import TlsTarget, check_tls
from ops_evidence.http.trust import ssl_context
from tests import real_servers as servers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

FINGERPRINT = r"^[0-9A-F]{2}(:[0-9A-F]{2}){31}$"


async def test_valid_certificate(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """A CA-signed certificate verifies; subject, issuer, serial, SANs and dates are read."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.valid, "localhost", certs.ca_file, 5))
    assert result.failure is None
    assert result.tls is not None
    leaf = result.tls.leaf
    assert leaf.remaining(datetime.now(UTC)) > timedelta(days=300)
    assert "localhost" in leaf.sans
    assert "127.0.0.1" in leaf.sans
    assert leaf.issuer
    assert leaf.serial
    assert leaf.not_before is not None
    assert leaf.not_before < datetime.now(UTC)
    assert (result.tls.verified, result.tls.host_matched) == (True, True)


async def test_the_whole_chain_is_read_on_this_python(
    nginx: servers.Nginx, certs: servers.Certs
) -> None:
    """The presented chain (leaf, intermediate) is read, not only the leaf: fails if this
    Python loses both the public and the private chain API."""
    target = TlsTarget("127.0.0.1", nginx.short_intermediate, "localhost", certs.short.ca_file, 5)
    result = await check_tls(target)
    assert result.tls is not None
    assert [c.subject for c in result.tls.chain] == ["CN=localhost", "CN=Test Intermediate"]
    assert result.tls.chain[0].issuer == "CN=Test Intermediate"
    assert result.tls.chain[0].fingerprint_sha256 != result.tls.chain[1].fingerprint_sha256
    stream = await anyio.connect_tcp(
        "127.0.0.1", nginx.valid, ssl_context=ssl_context(False), tls_hostname="localhost"
    )
    try:
        assert chain_source(stream.extra(TLSAttribute.ssl_object)) != "leaf_only"  # noqa: S610
    finally:
        with contextlib.suppress(anyio.BrokenResourceError):  # nginx drops the TLS close
            await stream.aclose()


async def test_intermediate_expiring_first(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """An intermediate that expires before the leaf is the chain's first expiry."""
    target = TlsTarget("127.0.0.1", nginx.short_intermediate, "localhost", certs.short.ca_file, 5)
    result = await check_tls(target)
    assert result.failure is None
    assert result.tls is not None
    assert result.tls.expires_first == 1
    assert days_left(result.tls.chain[1].remaining(datetime.now(UTC))) == pytest.approx(
        servers.SHORT_INTERMEDIATE_DAYS - 0.1, abs=0.1
    )


async def test_expiring_certificate_reports_days(
    nginx: servers.Nginx, certs: servers.Certs
) -> None:
    """A certificate expiring in three days and an hour reports 3.0 days remaining."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.expiring, "localhost", certs.ca_file, 5))
    assert result.tls is not None
    assert days_left(result.tls.leaf.remaining(datetime.now(UTC))) == 3.0


async def test_almost_three_days_reads_two_point_nine(
    nginx: servers.Nginx, certs: servers.Certs
) -> None:
    """2.99 days left is rounded down to 2.9, never up to a 3.0 that looks like 3 days."""
    target = TlsTarget("127.0.0.1", nginx.almost_three, "localhost", certs.ca_file, 5)
    result = await check_tls(target)
    assert result.tls is not None
    assert days_left(result.tls.leaf.remaining(datetime.now(UTC))) == 2.9


async def test_self_signed_keeps_its_facts(nginx: servers.Nginx) -> None:
    """A self-signed certificate fails verification yet reports dates and fingerprint."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.self_signed, "localhost", None, 5))
    assert result.failure is not None
    assert result.failure.reason == "tls_verify_failed"
    assert result.tls is not None
    assert result.tls.verified is False
    assert result.tls.verify_error == "self-signed certificate"
    assert result.tls.host_matched is True
    leaf = result.tls.leaf
    assert leaf.subject == leaf.issuer == "CN=localhost"
    assert leaf.remaining(datetime.now(UTC)) > timedelta(days=29)
    assert len(leaf.fingerprint_sha256) == 95


async def test_unknown_issuer_keeps_its_facts(nginx: servers.Nginx) -> None:
    """A certificate from a CA the trust store lacks: unknown issuer, chain still read."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.valid, "localhost", None, 5))
    assert result.failure is not None
    assert result.failure.reason == "tls_verify_failed"
    assert result.tls is not None
    assert result.tls.verify_error == "unable to get local issuer certificate"
    assert result.tls.host_matched is True
    assert result.tls.leaf.remaining(datetime.now(UTC)) > timedelta(days=300)


async def test_wrong_name_is_rejected(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """A certificate for another name fails verification; host_matched is false, dates kept."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.valid, "other.test", certs.ca_file, 5))
    assert result.failure is not None
    assert result.failure.reason == "tls_verify_failed"
    assert result.tls is not None
    assert result.tls.host_matched is False
    assert result.tls.verify_error is not None
    assert "other.test" in result.tls.verify_error
    assert result.tls.leaf.remaining(datetime.now(UTC)) > timedelta(days=300)


async def test_plain_http_port_is_a_tls_error(nginx: servers.Nginx) -> None:
    """Handshaking with a plain HTTP server fails as a TLS error, not an exception."""
    result = await check_tls(TlsTarget("127.0.0.1", nginx.http, None, None, 5))
    assert result.failure is not None
    assert result.failure.reason in {"tls_error", "connect_failed"}
    assert result.tls is None


async def test_refused() -> None:
    """Nothing listening is `connection_refused`."""
    result = await check_tls(TlsTarget("127.0.0.1", servers.free_port(), None, None, 5))
    assert result.failure is not None
    assert result.failure.reason == "connection_refused"


def test_ssl_module_is_what_the_chain_reader_expects() -> None:
    """The private reader's DER constant matches `_ssl.ENCODING_DER` on this Python."""
    import _ssl

    from ops_evidence.checks import certificates

    assert certificates._ENCODING_DER == _ssl.ENCODING_DER
    assert isinstance(ssl.OPENSSL_VERSION, str)

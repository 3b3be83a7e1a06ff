"""Certificate facts: DER parsing, the leaf-only fallback, days rounded down, name matching,
and serials / fingerprints that survive redaction."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from hypothesis import given, settings
from hypothesis import strategies as st

from ops_evidence.checks.certificates import (
    CertInfo,
    _colon_hex,
    chain_source,
    days_left,
    names_match,
    parse_der,
    presented_chain,
)
from ops_evidence.redact import redact

FINGERPRINT = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){31}$")


@pytest.fixture(scope="module")
def leaf_der() -> bytes:
    """A trustme leaf for localhost and 127.0.0.1, DER-encoded."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = trustme.CA().issue_cert("localhost", "127.0.0.1").cert_chain_pems[0].bytes()
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


class LeafOnly:
    """An SSL object of a Python with neither chain API: only `getpeercert` (its contract)."""

    def __init__(self, der: bytes) -> None:
        self.der = der

    def getpeercert(self, binary_form: bool = False) -> bytes:
        """The leaf's DER, as `SSLObject.getpeercert(True)` returns it even unverified."""
        assert binary_form
        return self.der


def test_parse_der_reads_every_fact(leaf_der: bytes) -> None:
    """Subject, issuer, SANs (DNS and IP), serial, fingerprint and both dates are read."""
    cert = parse_der(leaf_der)
    assert cert.sans == ("localhost", "127.0.0.1")
    assert "O=trustme" in cert.issuer
    assert re.fullmatch(r"[0-9A-F]{2}(:[0-9A-F]{2})*", cert.serial)
    assert FINGERPRINT.match(cert.fingerprint_sha256)
    assert cert.not_before is not None
    assert cert.not_before < datetime.now(UTC) < cert.not_after


def test_leaf_only_fallback(leaf_der: bytes) -> None:
    """Without a chain API the leaf alone is read, and the fallback says so."""
    fake = LeafOnly(leaf_der)
    assert chain_source(fake) == "leaf_only"  # type: ignore[arg-type]
    assert [c.sans for c in presented_chain(fake)] == [("localhost", "127.0.0.1")]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("remaining", "shown"),
    [
        (timedelta(days=2.99), 2.9),
        (timedelta(days=3), 3.0),
        (timedelta(days=3) - timedelta(seconds=1), 2.9),
        (timedelta(days=89.99), 89.9),
        (timedelta(hours=-1), -0.1),
    ],
)
def test_days_are_rounded_down_to_one_decimal(remaining: timedelta, shown: float) -> None:
    """Days left never round up: one second short of 3 days shows 2.9."""
    assert days_left(remaining) == shown


def _cert(*sans: str) -> CertInfo:
    return CertInfo(datetime.now(UTC), "CN=x", "CN=x", "01", sans)


@pytest.mark.parametrize(
    ("sans", "host", "matched"),
    [
        (("localhost",), "LOCALHOST.", True),
        (("*.example.test",), "a.example.test", True),
        (("*.example.test",), "a.b.example.test", False),
        (("*.example.test",), "example.test", False),
        (("127.0.0.1",), "127.0.0.1", True),
        (("localhost",), "127.0.0.1", False),
        (("::1",), "[::1]", True),
    ],
)
def test_names_match(sans: tuple[str, ...], host: str, matched: bool) -> None:
    """SANs cover a host exactly, or by a whole left-most wildcard label, or as an IP."""
    assert names_match(_cert(*sans), host) is matched


def test_serial_and_fingerprint_survive_redaction(leaf_der: bytes) -> None:
    """Colon-hex serials and fingerprints pass today's redaction unchanged, nested as in
    `tls_chain` (a bare hex run of the same bytes would be masked)."""
    cert = parse_der(leaf_der)
    entry = {"serial": cert.serial, "fingerprint_sha256": cert.fingerprint_sha256}
    assert redact({"tls_chain": [entry]}) == {"tls_chain": [entry]}
    assert redact({"tls_serial": cert.serial}) == {"tls_serial": cert.serial}
    bare = cert.fingerprint_sha256.replace(":", "").lower()
    assert redact({"fingerprint": bare}) != {"fingerprint": bare}


@given(st.binary(min_size=1, max_size=32))
@settings(max_examples=300, deadline=None)
def test_any_colon_hex_survives_redaction(data: bytes) -> None:
    """Any colon-hex serial or fingerprint passes today's redaction unchanged (else the
    event model's pattern would reject the redacted value)."""
    value = _colon_hex(data)
    entry = {"serial": value, "fingerprint_sha256": value}
    assert redact({"tls_chain": [entry], "tls_serial": value}) == {
        "tls_chain": [entry],
        "tls_serial": value,
    }


def test_unparsable_leaf_gives_an_empty_chain() -> None:
    """A certificate `cryptography` can't parse ends the chain instead of raising."""
    assert presented_chain(LeafOnly(b"not a certificate")) == ()  # type: ignore[arg-type]

"""Certificate facts: OpenSSL's decoding read, the leaf-only fallback, days rounded down, name matching,
and serials / fingerprints that survive redaction."""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from hypothesis import given, settings
from hypothesis import strategies as st

from ops_evidence.checks.certificates import (
    CertInfo,
    Decoded,
    _colon_hex,
    _name,
    cert_info,
    chain_source,
    days_left,
    names_match,
    presented_chain,
)
from ops_evidence.redact import redact

FINGERPRINT = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){31}$")


@pytest.fixture(scope="module")
def leaf(tmp_path_factory: pytest.TempPathFactory) -> Decoded:
    """A trustme leaf for localhost and 127.0.0.1: OpenSSL's decoding (what `getpeercert()`
    and `_ssl.Certificate.get_info()` return) and its DER."""
    pem = trustme.CA().issue_cert("localhost", "127.0.0.1").cert_chain_pems[0]
    path = tmp_path_factory.mktemp("leaf") / "leaf.pem"
    pem.write_to_path(str(path))
    info = ssl._ssl._test_decode_cert(str(path))  # type: ignore[attr-defined]
    return info, ssl.PEM_cert_to_DER_cert(Path(path).read_text())


class LeafOnly:
    """An SSL object of a Python without the chain API: only `getpeercert` (its contract:
    the decoding once verified, the DER always)."""

    def __init__(self, info: Mapping[str, Any], der: bytes) -> None:
        self.info, self.der = info, der

    def getpeercert(self, binary_form: bool = False) -> Mapping[str, Any] | bytes:
        """The leaf decoded, or its DER."""
        return self.der if binary_form else self.info


def test_cert_info_reads_every_fact(leaf: Decoded) -> None:
    """Subject, issuer, SANs (DNS and IP), serial, fingerprint and both dates are read."""
    cert = cert_info(*leaf)
    assert cert.sans == ("localhost", "127.0.0.1")
    assert "O=trustme" in cert.issuer
    assert re.fullmatch(r"[0-9A-F]{2}(:[0-9A-F]{2})*", cert.serial)
    assert FINGERPRINT.match(cert.fingerprint_sha256)
    assert cert.not_before is not None
    assert cert.not_before < datetime.now(UTC) < cert.not_after


def test_leaf_only_fallback(leaf: Decoded) -> None:
    """Without a chain API the leaf alone is read, and the fallback says so."""
    fake = LeafOnly(*leaf)
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


def test_serial_and_fingerprint_survive_redaction(leaf: Decoded) -> None:
    """Colon-hex serials and fingerprints pass today's redaction unchanged, nested as in
    `tls_chain` (a bare hex run of the same bytes would be masked)."""
    cert = cert_info(*leaf)
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


def test_an_undecodable_leaf_gives_an_empty_chain(leaf: Decoded) -> None:
    """A decoding without dates (or an unverified leaf, which `getpeercert()` leaves
    undecoded) ends the chain instead of raising."""
    info, der = leaf
    no_dates = {k: v for k, v in info.items() if k != "notAfter"}
    assert presented_chain(LeafOnly(no_dates, der)) == ()  # type: ignore[arg-type]
    assert presented_chain(LeafOnly({}, der)) == ()  # type: ignore[arg-type]


def test_names_are_written_most_specific_first_with_specials_escaped() -> None:
    """RFC 4514: OpenSSL lists RDNs from the country down; a comma in a value is escaped."""
    rdns = ((("countryName", "DE"),), (("organizationName", "Acme, Inc."),), (("commonName", "x"),))
    assert _name(rdns) == "CN=x,O=Acme\\, Inc.,C=DE"

"""TLS client contexts: verification on by default, built once per need and shared."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from ops_evidence.http.trust import ssl_context


def test_default_context_verifies_chain_and_hostname() -> None:
    """The shared default: certificates required, hostnames checked."""
    context = ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_contexts_are_shared_per_need() -> None:
    """The same arguments give the same context (one CA store in memory), others do not."""
    assert ssl_context() is ssl_context(True, None)
    assert ssl_context(False) is not ssl_context()
    assert ssl_context(False).verify_mode == ssl.CERT_NONE


def test_a_ca_file_gets_its_own_context(tmp_path: Path) -> None:
    """A check's own CA file is loaded into a context of its own."""
    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    assert ssl_context(True, ca_file) is not ssl_context()
    assert ssl_context(True, ca_file).get_ca_certs()

"""`ops-access-path-checked`: ssh (sshd), tcp, tls (nginx), dns (dnsmasq), kubernetes-api."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ops_evidence.events.types import AccessPathChecked
from tests import real_servers as servers
from tests.probes.inventories import inventory, probe

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def check(spec: dict[str, Any]) -> AccessPathChecked:
    """Probe one access path `p` with the given check settings."""
    inv = inventory(access_paths=[{"id": "p", "environment": "local", "check": spec}])
    event = await probe(inv, "access-path:p")
    assert isinstance(event, AccessPathChecked)
    return event


async def test_ssh_banner(sshd_port: int) -> None:
    """sshd's `SSH-2.0-` banner verifies an ssh access path."""
    event = await check({"kind": "ssh", "host": "127.0.0.1", "port": sshd_port})
    assert event.attributes.verified
    assert event.attributes.banner is not None
    assert event.attributes.banner.startswith("SSH-2.0-")


async def test_ssh_to_a_web_server(nginx: servers.Nginx) -> None:
    """An ssh path that reaches nginx instead is not verified (no banner)."""
    event = await check({"kind": "ssh", "host": "127.0.0.1", "port": nginx.http})
    assert not event.attributes.verified
    assert event.attributes.reason in {"banner_timeout", "timeout"}


async def test_tcp_refused() -> None:
    """A tcp path with nothing listening is `connection_refused`."""
    event = await check({"kind": "tcp", "host": "127.0.0.1", "port": servers.free_port()})
    assert event.attributes.reason == "connection_refused"


async def test_tls_valid(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """A valid certificate verifies and reports days, subject and issuer."""
    event = await check(
        {
            "kind": "tls",
            "host": "127.0.0.1",
            "port": nginx.valid,
            "server_name": "localhost",
            "ca_file": str(certs.ca_file),
        }
    )
    assert event.attributes.verified
    assert event.attributes.tls_days_remaining is not None
    assert event.attributes.tls_issuer
    assert event.attributes.tls_sans == ["localhost", "127.0.0.1"]
    assert event.attributes.tls_serial is not None
    assert "REDACTED" not in event.attributes.tls_serial
    assert event.attributes.tls_verified is True
    assert event.attributes.tls_host_matched is True
    [leaf] = event.attributes.tls_chain
    assert leaf.serial == event.attributes.tls_serial
    assert "REDACTED" not in leaf.fingerprint_sha256


async def test_tls_expiring(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """Three days left is below the 14-day default: `tls_expiring`."""
    event = await check(
        {"kind": "tls", "host": "127.0.0.1", "port": nginx.expiring, "ca_file": str(certs.ca_file)}
    )
    assert event.attributes.reason == "tls_expiring"
    assert event.attributes.tls_days_remaining == 3.0


async def test_tls_self_signed(nginx: servers.Nginx) -> None:
    """A self-signed certificate is `tls_verify_failed`."""
    event = await check({"kind": "tls", "host": "127.0.0.1", "port": nginx.self_signed})
    assert event.attributes.reason == "tls_verify_failed"
    a = event.attributes
    assert (a.tls_verified, a.tls_verify_error) == (False, "self-signed certificate")
    assert a.tls_not_after is not None
    assert a.tls_subject == "CN=localhost"
    assert len(a.tls_chain) == 1


async def test_tls_hostname_mismatch(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """A server name the certificate doesn't cover: not verified, host not matched, dates kept."""
    event = await check(
        {
            "kind": "tls",
            "host": "127.0.0.1",
            "port": nginx.valid,
            "server_name": "other.test",
            "ca_file": str(certs.ca_file),
        }
    )
    a = event.attributes
    assert (a.verified, a.reason) == (False, "tls_verify_failed")
    assert (a.tls_verified, a.tls_host_matched) == (False, False)
    assert a.tls_days_remaining is not None
    assert a.tls_days_remaining > 300


async def test_tls_intermediate_expiring_first(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """`min_days` applies to the intermediate that expires before the leaf, named in the message."""
    event = await check(
        {
            "kind": "tls",
            "host": "127.0.0.1",
            "port": nginx.short_intermediate,
            "server_name": "localhost",
            "ca_file": str(certs.short.ca_file),
            "min_days": servers.SHORT_INTERMEDIATE_DAYS + 1,
        }
    )
    a = event.attributes
    assert a.reason == "tls_expiring"
    assert a.message is not None
    assert "certificate 1 of the chain (CN=Test Intermediate)" in a.message
    assert a.tls_expires_first == 1
    assert a.tls_chain[1].issuer == "CN=Test Root"


async def test_dns_matches(dns_port: int) -> None:
    """A name resolving to the declared address verifies."""
    event = await check(
        {
            "kind": "dns",
            "name": "registry.test",
            "addresses": ["127.0.0.7"],
            "resolver": f"127.0.0.1:{dns_port}",
        }
    )
    assert event.attributes.verified
    assert event.attributes.resolved_addresses == ["127.0.0.7"]


async def test_dns_moved(dns_port: int) -> None:
    """A name resolving elsewhere is `address_mismatch` with both address lists."""
    event = await check(
        {
            "kind": "dns",
            "name": "moved.test",
            "addresses": ["127.0.0.7"],
            "resolver": f"127.0.0.1:{dns_port}",
        }
    )
    assert event.attributes.reason == "address_mismatch"
    assert event.attributes.resolved_addresses == ["127.0.0.9"]
    assert event.attributes.declared_addresses == ["127.0.0.7"]


async def test_dns_missing_and_extra(dns_port: int) -> None:
    """Against a name with two A records, the event lists the whole answer and what is
    missing from it and extra in it."""
    event = await check(
        {
            "kind": "dns",
            "name": servers.MULTI_NAME,
            "addresses": ["127.0.0.1", "127.0.0.3"],
            "resolver": f"127.0.0.1:{dns_port}",
        }
    )
    a = event.attributes
    assert a.reason == "address_mismatch"
    assert a.resolved_addresses == ["127.0.0.1", "127.0.0.2"]
    assert (a.missing_addresses, a.extra_addresses) == (["127.0.0.3"], ["127.0.0.2"])


async def test_kubernetes_api(nginx: servers.Nginx, certs: servers.Certs, tmp_path: Path) -> None:
    """The API's `/version` with a token file verifies and reports the version."""
    token = tmp_path / "token"
    token.write_text(servers.KUBE_TOKEN)
    event = await check(
        {
            "kind": "kubernetes-api",
            "url": f"https://127.0.0.1:{nginx.valid}",
            "token": {"file": str(token)},
            "ca_file": str(certs.ca_file),
        }
    )
    assert event.attributes.verified
    assert event.attributes.kubernetes_version == "v1.30.2"
    assert servers.KUBE_TOKEN not in event.model_dump_json()


async def test_kubernetes_api_without_token(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """Without a token the API refuses: `unauthorized`."""
    event = await check(
        {
            "kind": "kubernetes-api",
            "url": f"https://127.0.0.1:{nginx.valid}",
            "ca_file": str(certs.ca_file),
        }
    )
    assert event.attributes.reason == "unauthorized"

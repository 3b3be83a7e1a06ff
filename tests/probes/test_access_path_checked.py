"""`ops-access-path-checked`: ssh (sshd), tcp, tls (nginx), dns (dnsmasq), kubernetes-api."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ops_evidence.events.types import AccessPathChecked
from ops_evidence.events.wire import event_attributes
from ops_evidence.schedule.timetable import fingerprint as emission_digest
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


async def test_ssh_unpinned_records_host_keys(sshd: servers.Sshd) -> None:
    """Unpinned, the event still records each host key's type and fingerprint."""
    event = await check({"kind": "ssh", "host": "127.0.0.1", "port": sshd.port})
    a = event.attributes
    assert a.verified
    assert {k.type for k in a.ssh_host_keys} == {"ssh-ed25519", "ecdsa-sha2-nistp256"}
    assert all(k.fingerprint.startswith("SHA256:") for k in a.ssh_host_keys)
    assert a.ssh_expected_fingerprints == []
    assert a.ssh_host_key_matched is None


async def test_ssh_pinned_key_matches(sshd: servers.Sshd) -> None:
    """A pinned fingerprint of one of the server's keys verifies and is recorded."""
    spec = {"kind": "ssh", "host": "127.0.0.1", "port": sshd.port}
    event = await check({**spec, "host_key": sshd.fingerprint(sshd.public_keys[0])})
    assert event.attributes.verified
    assert event.attributes.ssh_host_key_matched is True
    assert len(event.attributes.ssh_expected_fingerprints) == 1


async def test_ssh_pinned_key_mismatch(sshd: servers.Sshd, tmp_path: Path) -> None:
    """A pin the server does not hold: not verified, `host_key_mismatch`, both sides kept."""
    spec = {"kind": "ssh", "host": "127.0.0.1", "port": sshd.port}
    event = await check({**spec, "host_key": [sshd.fingerprint(sshd.other_key(tmp_path))]})
    a = event.attributes
    assert not a.verified
    assert a.reason == "host_key_mismatch"
    assert a.ssh_host_key_matched is False
    assert len(a.ssh_host_keys) == 2
    assert len(a.ssh_expected_fingerprints) == 1
    assert a.message is not None
    assert "expected" in a.message
    assert "observed" in a.message


async def test_ssh_known_hosts(sshd: servers.Sshd, tmp_path: Path) -> None:
    """A known_hosts file with the server's key verifies; one with another key does not."""
    spec = {"kind": "ssh", "host": "127.0.0.1", "port": sshd.port}
    good = sshd.known_hosts(tmp_path, sshd.public_keys[1])
    event = await check({**spec, "known_hosts": str(good)})
    assert event.attributes.verified
    assert event.attributes.ssh_host_key_matched is True
    bad = sshd.known_hosts(tmp_path, sshd.other_key(tmp_path))
    event = await check({**spec, "known_hosts": str(bad)})
    assert event.attributes.reason == "host_key_mismatch"


async def mismatch(sshd: servers.Sshd, tmp_path: Path) -> tuple[str, set[str], AccessPathChecked]:
    """Probe `sshd` pinned to a key it does not hold: (pin, its real fingerprints, event)."""
    pin = sshd.fingerprint(sshd.other_key(tmp_path))
    spec = {"kind": "ssh", "host": "127.0.0.1", "port": sshd.port, "host_key": pin}
    return pin, {sshd.fingerprint(k) for k in sshd.public_keys}, await check(spec)


SSH_EVENT = {"verified": True, "access_path": "p", "method": "ssh", "target": "127.0.0.1:22"}


async def test_ssh_fingerprints_survive_in_attributes(sshd: servers.Sshd, tmp_path: Path) -> None:
    """The observed and expected fingerprints reach the event's attributes verbatim."""
    pin, observed, event = await mismatch(sshd, tmp_path)
    assert {k.fingerprint for k in event.attributes.ssh_host_keys} == observed
    assert event.attributes.ssh_expected_fingerprints == [pin]


async def test_ssh_fingerprints_survive_in_the_message(sshd: servers.Sshd, tmp_path: Path) -> None:
    """The mismatch message names the expected and observed fingerprints verbatim."""
    pin, observed, event = await mismatch(sshd, tmp_path)
    message = event.attributes.message or ""
    assert pin in message
    assert all(f in message for f in observed)


def test_changed_unpinned_key_is_a_change() -> None:
    """Unpinned, a new host key alone changes the digest that decides emission, so the
    changed key is delivered at once, not at the next heartbeat."""

    def digest(fingerprint: str) -> str:
        key = {"type": "ssh-ed25519", "fingerprint": fingerprint}
        attributes = {**SSH_EVENT, "ssh_host_keys": [key]}
        event = AccessPathChecked.build(context_key="access-path:p", attributes=attributes)
        return emission_digest(event.event_type, event_attributes(event))

    assert digest("SHA256:" + "A" * 43) != digest("SHA256:" + "B" * 43)


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

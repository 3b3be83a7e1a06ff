"""`ops-endpoint-verified` with `per_address`: dnsmasq answers two A records for `multi.test`,
nginx serves that name on 127.0.0.1 and 127.0.0.2 (one port on the first address only)."""

from __future__ import annotations

from typing import Any

import pytest

from ops_evidence.events.types import EndpointVerified
from tests import real_servers as servers
from tests.probes.inventories import inventory, probe

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def probe_multi(dns_port: int, url: str, **more: Any) -> EndpointVerified:
    """Probe endpoint `multi` at `url` per address, resolving through dnsmasq."""
    spec = {
        "id": "multi",
        "service": "web",
        "url": url,
        "per_address": True,
        "resolver": f"127.0.0.1:{dns_port}",
        **more,
    }
    event = await probe(inventory(endpoints=[spec]), "endpoint:multi")
    assert isinstance(event, EndpointVerified)
    return event


def verdicts(event: EndpointVerified) -> dict[str, tuple[bool, int | None, str | None]]:
    """address -> (verified, status, reason)."""
    return {v.address: (v.verified, v.status, v.reason) for v in event.attributes.addresses}


async def test_both_addresses_answer(dns_port: int, multi_nginx: servers.MultiAddress) -> None:
    """Both addresses serve the name (nginx answers 421 to any other Host): verified, and
    the one event lists each address with its status and latency."""
    url = f"http://{servers.MULTI_NAME}:{multi_nginx.both}/health"
    event = await probe_multi(dns_port, url)
    assert event.attributes.verified, event.attributes.message
    assert verdicts(event) == dict.fromkeys(servers.MULTI_ADDRESSES, (True, 200, None))
    assert all(v.latency_ms is not None for v in event.attributes.addresses)
    assert event.attributes.observed_status == 200


async def test_a_and_aaaa_records(dns_port: int, multi_nginx: servers.MultiAddress) -> None:
    """A name with an A and an AAAA record is probed on both, IPv6 included."""
    url = f"http://{servers.DUAL_NAME}:{multi_nginx.both}/health"
    event = await probe_multi(dns_port, url)
    assert event.attributes.verified, event.attributes.message
    assert verdicts(event) == dict.fromkeys(servers.DUAL_ADDRESSES, (True, 200, None))


async def test_one_address_refuses(dns_port: int, multi_nginx: servers.MultiAddress) -> None:
    """Only 127.0.0.1 listens: 127.0.0.2 fails, so the endpoint is not verified, and the
    message names the failing address."""
    url = f"http://{servers.MULTI_NAME}:{multi_nginx.first_only}/health"
    event = await probe_multi(dns_port, url)
    a = event.attributes
    assert not a.verified
    assert verdicts(event)["127.0.0.1"] == (True, 200, None)
    assert verdicts(event)["127.0.0.2"] == (False, None, "connection_refused")
    assert a.reason == "connection_refused"
    assert a.observed_status is None  # the failing address's attributes are shown
    assert a.message is not None
    assert a.message.startswith("1 of 2 addresses verified (2 needed); 127.0.0.2:")


async def test_min_addresses_tolerates_one(
    dns_port: int, multi_nginx: servers.MultiAddress
) -> None:
    """With `min_addresses: 1` one answering address of two verifies; the event still
    records the failing one and says so."""
    url = f"http://{servers.MULTI_NAME}:{multi_nginx.first_only}/health"
    event = await probe_multi(dns_port, url, min_addresses=1)
    a = event.attributes
    assert a.verified
    assert a.min_addresses == 1
    assert not verdicts(event)["127.0.0.2"][0]
    assert a.observed_status == 200
    assert a.message is not None
    assert "1 of 2 addresses verified (1 needed)" in a.message


async def test_min_addresses_above_the_answer(
    dns_port: int, multi_nginx: servers.MultiAddress
) -> None:
    """Needing three addresses when the name has two is not verified, though both answer."""
    url = f"http://{servers.MULTI_NAME}:{multi_nginx.both}/health"
    event = await probe_multi(dns_port, url, min_addresses=3)
    assert not event.attributes.verified
    assert event.attributes.reason == "addresses_failed"


async def test_tls_keeps_the_server_name(dns_port: int, multi_nginx: servers.MultiAddress) -> None:
    """HTTPS on each address verifies a certificate issued for the name only: SNI and the
    host name check use the name, not the address connected to."""
    url = f"https://{servers.MULTI_NAME}:{multi_nginx.tls_both}/health"
    event = await probe_multi(dns_port, url, ca_file=str(multi_nginx.ca_file), tls_min_days=1)
    assert event.attributes.verified, event.attributes.message
    assert verdicts(event) == dict.fromkeys(servers.MULTI_ADDRESSES, (True, 200, None))
    assert event.attributes.tls_not_after is not None


async def test_unknown_name(dns_port: int) -> None:
    """A name the resolver does not know is one failed event, no addresses probed."""
    event = await probe_multi(dns_port, "http://unknown.test/health")
    assert not event.attributes.verified
    assert event.attributes.reason in {"nxdomain", "dns_failure"}
    assert event.attributes.addresses == []


async def test_address_literal(multi_nginx: servers.MultiAddress) -> None:
    """A URL naming an address is that one address; Host is then the address, so the
    name-only nginx answers 421 and the verdict carries that status."""
    spec = {
        "id": "multi",
        "service": "web",
        "url": f"http://127.0.0.2:{multi_nginx.both}/health",
        "per_address": True,
    }
    event = await probe(inventory(endpoints=[spec]), "endpoint:multi")
    assert isinstance(event, EndpointVerified)
    assert verdicts(event) == {"127.0.0.2": (False, 421, "unexpected_status")}

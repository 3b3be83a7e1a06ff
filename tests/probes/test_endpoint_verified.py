"""`ops-endpoint-verified`: the seeds' registry example against the real docker-registry."""

from __future__ import annotations

import pytest

from ops_evidence.events.types import EndpointVerified
from tests import real_servers as servers
from tests.probes.inventories import inventory, probe

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

# As written in the seeds and in examples/railiance.yaml.
SEED_EXPECT = {"status": 401, "headers": {"Docker-Distribution-Api-Version": "registry/2.0"}}


def endpoint(url: str, ca: str | None, **more: object) -> dict[str, object]:
    """An endpoint of service `web`."""
    return {
        "id": "registry",
        "service": "web",
        "url": url,
        "ca_file": ca,
        "expect": SEED_EXPECT,
        "tls_min_days": 14,
        **more,
    }


async def test_registry_seed_example(registry: servers.Registry) -> None:
    """401 plus `Docker-Distribution-Api-Version: registry/2.0` and TLS days verify."""
    url = f"https://127.0.0.1:{registry.port}/v2/"
    event = await probe(
        inventory(endpoints=[endpoint(url, str(registry.ca_file))]), "endpoint:registry"
    )
    assert isinstance(event, EndpointVerified)
    a = event.attributes
    assert a.verified, a.message
    assert a.observed_status == 401
    assert a.observed_headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert a.expected_headers == {"Docker-Distribution-Api-Version": "registry/2.0"}
    assert a.tls_days_remaining is not None
    assert a.tls_days_remaining > 300
    assert event.context_key == "endpoint:registry"


async def test_registry_wrong_expectation(registry: servers.Registry) -> None:
    """Expecting 200 from the registry is `unexpected_status`."""
    url = f"https://127.0.0.1:{registry.port}/v2/"
    ep = endpoint(url, str(registry.ca_file), expect={"status": 200})
    event = await probe(inventory(endpoints=[ep]), "endpoint:registry")
    assert isinstance(event, EndpointVerified)
    assert not event.attributes.verified
    assert event.attributes.reason == "unexpected_status"


async def test_nginx_without_registry_header(nginx: servers.Nginx) -> None:
    """A 401 without the registry header is `header_mismatch`."""
    url = f"http://127.0.0.1:{nginx.http}/busy"
    ep = endpoint(url, None, expect={"status": 503, "headers": SEED_EXPECT["headers"]})
    event = await probe(inventory(endpoints=[ep]), "endpoint:registry")
    assert isinstance(event, EndpointVerified)
    assert event.attributes.reason == "header_mismatch"


async def test_expiring_certificate(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """A certificate with 3 days left fails a 14-day minimum as `tls_expiring`."""
    url = f"https://127.0.0.1:{nginx.expiring}/v2/"
    event = await probe(
        inventory(endpoints=[endpoint(url, str(certs.ca_file))]), "endpoint:registry"
    )
    assert isinstance(event, EndpointVerified)
    assert event.attributes.reason == "tls_expiring"
    assert event.attributes.tls_days_remaining == 3.0
    assert event.attributes.observed_status == 401


@pytest.mark.parametrize(("min_days", "verified"), [(3, False), (2, True)])
async def test_almost_three_days_against_min_days(
    nginx: servers.Nginx, certs: servers.Certs, min_days: int, verified: bool
) -> None:
    """2.99 days left reads 2.9: not verified against `tls_min_days: 3`, verified against 2."""
    url = f"https://127.0.0.1:{nginx.almost_three}/v2/"
    ep = endpoint(url, str(certs.ca_file), tls_min_days=min_days)
    event = await probe(inventory(endpoints=[ep]), "endpoint:registry")
    assert isinstance(event, EndpointVerified)
    a = event.attributes
    assert a.tls_days_remaining == 2.9
    assert a.verified is verified, a.message
    if not verified:
        assert a.reason == "tls_expiring"
        assert a.message is not None
        assert "certificate expires in 2.9 days (minimum 3)" in a.message


async def test_intermediate_expiring_first(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """An intermediate expiring before the leaf decides `tls_expiring`, and is named."""
    url = f"https://127.0.0.1:{nginx.short_intermediate}/v2/"
    days = servers.SHORT_INTERMEDIATE_DAYS + 1
    ep = endpoint(url, str(certs.short.ca_file), tls_min_days=days)
    event = await probe(inventory(endpoints=[ep]), "endpoint:registry")
    assert isinstance(event, EndpointVerified)
    a = event.attributes
    assert a.reason == "tls_expiring"
    assert a.message is not None
    assert "certificate 1 of the chain (CN=Test Intermediate)" in a.message
    assert a.tls_expires_first == 1
    assert [c.subject for c in a.tls_chain] == ["CN=localhost", "CN=Test Intermediate"]
    assert a.tls_not_after == a.tls_chain[1].not_after
    assert a.tls_days_remaining is not None
    assert a.tls_days_remaining < servers.SHORT_INTERMEDIATE_DAYS


async def test_self_signed_certificate(nginx: servers.Nginx) -> None:
    """A self-signed certificate is `tls_verify_failed`."""
    url = f"https://127.0.0.1:{nginx.self_signed}/v2/"
    event = await probe(inventory(endpoints=[endpoint(url, None)]), "endpoint:registry")
    assert isinstance(event, EndpointVerified)
    assert event.attributes.reason == "tls_verify_failed"
    assert event.attributes.observed_status is None
    a = event.attributes
    assert (a.tls_verified, a.tls_verify_error) == (False, "self-signed certificate")
    assert a.tls_days_remaining is not None
    assert a.tls_days_remaining > 29
    assert len(a.tls_chain) == 1
    assert a.tls_chain[0].fingerprint_sha256


async def test_query_string_never_reported(nginx: servers.Nginx) -> None:
    """A token in the URL's query string does not reach the event."""
    url = f"http://127.0.0.1:{nginx.http}/v2/?access_token=canary-query-token-998877"
    ep = endpoint(url, None)
    event = await probe(inventory(endpoints=[ep]), "endpoint:registry")
    assert "canary-query-token" not in event.model_dump_json()
    assert isinstance(event, EndpointVerified)
    assert event.attributes.url == f"http://127.0.0.1:{nginx.http}/v2/"


async def test_unverified_endpoint_still_reports_its_chain(nginx: servers.Nginx) -> None:
    """With `verify_tls: false` the chain is recorded and its lifetime still checked;
    `tls_verified` is null (not checked), not false."""
    url = f"https://127.0.0.1:{nginx.self_signed}/v2/"
    ep = endpoint(url, None, verify_tls=False, tls_min_days=31)
    event = await probe(inventory(endpoints=[ep]), "endpoint:registry")
    assert isinstance(event, EndpointVerified)
    a = event.attributes
    assert (a.tls_verified, a.tls_host_matched) == (None, True)
    assert a.reason == "tls_expiring"
    assert a.tls_days_remaining is not None
    assert 29 < a.tls_days_remaining < 30

"""`ops-service-observed` against real nginx and sshd."""

from __future__ import annotations

import pytest

from ops_evidence.events.types import ServiceObserved
from tests import real_servers as servers
from tests.probes.inventories import inventory, probe

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def http_service(url: str, **check: object) -> dict[str, object]:
    """A service `api` observed by its health URL."""
    return {
        "id": "api",
        "environment": "local",
        "version": "1.25.4",
        "check": {"kind": "http", "url": url, **check},
    }


async def test_up_with_version(nginx: servers.Nginx) -> None:
    """A 200 health answer is `up`; the version is read from a JSON field."""
    inv = inventory(
        services=[
            http_service(f"http://127.0.0.1:{nginx.http}/health", version={"json_field": "version"})
        ]
    )
    event = await probe(inv, "service:api")
    assert isinstance(event, ServiceObserved)
    assert event.attributes.verified
    assert event.attributes.status == "up"
    assert event.attributes.observed_version == "1.25.4"
    assert event.attributes.http_status == 200


async def test_degraded(nginx: servers.Nginx) -> None:
    """A status listed in `degraded_status` is `degraded`, not verified."""
    inv = inventory(
        services=[http_service(f"http://127.0.0.1:{nginx.http}/busy", degraded_status=[503])]
    )
    event = await probe(inv, "service:api")
    assert isinstance(event, ServiceObserved)
    assert event.attributes.status == "degraded"
    assert not event.attributes.verified
    assert event.attributes.reason == "degraded"


async def test_down_when_unexpected_status(nginx: servers.Nginx) -> None:
    """Any other unexpected status is `down` with `unexpected_answer`."""
    inv = inventory(services=[http_service(f"http://127.0.0.1:{nginx.http}/busy")])
    event = await probe(inv, "service:api")
    assert isinstance(event, ServiceObserved)
    assert event.attributes.status == "down"
    assert event.attributes.reason == "unexpected_answer"


async def test_down_when_refused() -> None:
    """Nothing listening is `down` with `connection_refused`."""
    inv = inventory(services=[http_service(f"http://127.0.0.1:{servers.free_port()}/health")])
    event = await probe(inv, "service:api")
    assert isinstance(event, ServiceObserved)
    assert event.attributes.status == "down"
    assert event.attributes.reason == "connection_refused"


async def test_tcp_with_banner(sshd_port: int) -> None:
    """A TCP service with a banner pattern is `up` when sshd greets."""
    inv = inventory(
        services=[
            {
                "id": "ssh",
                "environment": "local",
                "check": {
                    "kind": "tcp",
                    "host": "127.0.0.1",
                    "port": sshd_port,
                    "banner": "^SSH-2\\.0-",
                },
            }
        ]
    )
    event = await probe(inv, "service:ssh")
    assert isinstance(event, ServiceObserved)
    assert event.attributes.status == "up"
    assert event.attributes.check == "tcp"


async def test_tcp_refused() -> None:
    """A TCP service with nothing listening is `down`."""
    inv = inventory(
        services=[
            {
                "id": "db",
                "environment": "local",
                "check": {"kind": "tcp", "host": "127.0.0.1", "port": servers.free_port()},
            }
        ]
    )
    event = await probe(inv, "service:db")
    assert isinstance(event, ServiceObserved)
    assert event.attributes.status == "down"
    assert not event.attributes.verified


async def test_version_from_header_and_body(nginx: servers.Nginx) -> None:
    """The version can come from a response header or a body regex (group 1)."""
    url = f"http://127.0.0.1:{nginx.http}/health"
    by_header = inventory(services=[http_service(url, version={"header": "Server"})])
    by_body = inventory(services=[http_service(url, version={"pattern": r'"version": "([^"]+)"'})])
    header_event = await probe(by_header, "service:api")
    body_event = await probe(by_body, "service:api")
    assert isinstance(header_event, ServiceObserved)
    assert isinstance(body_event, ServiceObserved)
    assert (header_event.attributes.observed_version or "").startswith("nginx/")
    assert body_event.attributes.observed_version == "1.25.4"

"""The fresh-connection transport's `connect_to` (host -> address, like curl's `--resolve`),
against nginx serving `multi.test` on 127.0.0.1 and 127.0.0.2."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest

from ops_evidence.checks.http import ClientFactory, HttpResult, fetch, fresh_client
from ops_evidence.inventory.checks import HttpOptions
from tests import real_servers as servers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def pinned(connect_to: Mapping[str, str]) -> ClientFactory:
    """A client factory whose transport connects as `connect_to` says."""

    def factory(options: HttpOptions, timeout: float) -> httpx.AsyncClient:
        return fresh_client(options, timeout, connect_to=connect_to)

    return factory


async def get(url: str, connect_to: Mapping[str, str]) -> HttpResult:
    """GET `url` through a client pinned by `connect_to`."""
    return await fetch(HttpOptions(url=url), timeout=5, client_factory=pinned(connect_to))


async def test_pinned_address_is_connected_to(multi_nginx: servers.MultiAddress) -> None:
    """The name is never resolved: the pinned address is connected to (127.0.0.2 refuses
    on the first-only port) and answers for the name (Host kept: 200, not 421)."""
    name = servers.MULTI_NAME
    url = f"http://{name}:{multi_nginx.both}/health"
    assert (await get(url, {name: "127.0.0.2"})).status == 200
    refused = await get(f"http://{name}:{multi_nginx.first_only}/health", {name: "127.0.0.2"})
    assert refused.failure is not None
    assert refused.status is None


async def test_other_hosts_are_not_pinned(multi_nginx: servers.MultiAddress) -> None:
    """A host the map does not name connects as usual (to 127.0.0.1, which listens, with
    its own Host, hence nginx's 421), not to the pinned address (which would refuse)."""
    url = f"http://127.0.0.1:{multi_nginx.first_only}/health"
    result = await get(url, {servers.MULTI_NAME: "127.0.0.2"})
    assert result.status == 421


async def test_tls_server_name_stays_the_name(multi_nginx: servers.MultiAddress) -> None:
    """Over TLS the certificate (issued for the name only) verifies on a pinned address."""
    name = servers.MULTI_NAME
    options = HttpOptions(
        url=f"https://{name}:{multi_nginx.tls_both}/health", ca_file=multi_nginx.ca_file
    )
    result = await fetch(options, timeout=5, client_factory=pinned({name: "127.0.0.2"}))
    assert result.status == 200, result.failure
    assert result.tls is not None
    assert name in result.tls.leaf.sans

"""The fresh-connection transport: methods, bodies, TLS and failures, against real nginx, and
one connection per request (what it shares with the sinks' transport: tests/http/test_transport_contract.py)."""

from __future__ import annotations

import ssl

import httpx
import pytest

from ops_evidence.checks.http import fetch
from ops_evidence.checks.transport import FreshConnectionTransport
from ops_evidence.inventory.checks import HttpOptions
from tests import real_servers as servers
from tests.servers import client_port_app, serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def test_head_has_no_body(nginx: servers.Nginx) -> None:
    """HEAD gets the status and headers, and no body is awaited."""
    result = await fetch(
        HttpOptions(url=f"http://127.0.0.1:{nginx.http}/v2/", method="HEAD"), timeout=5
    )
    assert result.status == 401
    assert result.headers["docker-distribution-api-version"] == "registry/2.0"
    assert result.body == b""


async def test_post(nginx: servers.Nginx) -> None:
    """POST goes through the same path."""
    result = await fetch(
        HttpOptions(url=f"http://127.0.0.1:{nginx.http}/v2/", method="POST"), timeout=5
    )
    assert result.status == 401


async def test_tls_certificate_is_exposed(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """Over TLS the presented chain is read from the connection's `ssl_object`."""
    opts = HttpOptions(url=f"https://127.0.0.1:{nginx.expiring}/health", ca_file=certs.ca_file)
    result = await fetch(opts, timeout=5)
    assert result.status == 200
    assert result.tls is not None
    assert "localhost" in result.tls.leaf.sans


async def test_plain_http_to_a_tls_port(nginx: servers.Nginx) -> None:
    """Speaking HTTP to a TLS port is an answer (nginx says 400), not a crash."""
    result = await fetch(HttpOptions(url=f"http://127.0.0.1:{nginx.valid}/health"), timeout=5)
    assert result.status == 400


async def test_not_http_at_all(sshd_port: int) -> None:
    """An SSH server answering an HTTP request is `protocol_error`, not an exception."""
    result = await fetch(HttpOptions(url=f"http://127.0.0.1:{sshd_port}/"), timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "protocol_error"


async def test_every_request_opens_its_own_connection() -> None:
    """Two requests on one client to a server that keeps connections alive still go out on
    two connections (each probe is evidence of reachability, not of a pooled socket)."""
    transport = FreshConnectionTransport(ssl.create_default_context(), 5.0)
    with serve_asgi(client_port_app) as url:
        async with httpx.AsyncClient(transport=transport) as client:
            ports = {(await client.get(url)).text for _ in range(3)}
    assert len(ports) == 3

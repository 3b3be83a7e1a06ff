"""The sinks' keep-alive transport over real loopback servers: TLS verified, reuse, failures
(what it shares with the probes' transport: tests/http/test_transport_contract.py)."""

from __future__ import annotations

import os
import resource
import ssl
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
import trustme

from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.http import make_client, send_prepared
from ops_evidence.delivery.sinks.state_hub import StateHubSink
from ops_evidence.delivery.sinks.transport import KeepAliveTransport
from ops_evidence.emulator import create_app
from tests.raw_http import raw_server
from tests.real_servers import free_port
from tests.servers import client_port_app, serve_asgi

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, trustme.CA]]:
    """The emulator over https on 127.0.0.1 with a certificate from a test CA."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    directory: Path = tmp_path_factory.mktemp("tls")
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    with serve_asgi(create_app(), ssl_certfile=str(certfile), ssl_keyfile=str(keyfile)) as url:
        yield url, ca


def _delivery(n: int) -> Delivery:
    body = b'{"event_type":"ops_inventory_probe","idempotency_key":"k%d","summary":"s"}' % n
    return Delivery(
        f"k{n}",
        "state-hub",
        "pending",
        0,
        0.0,
        body,
        None,
        "ops-endpoint-verified",
        "endpoint:e",
        0.0,
        0.0,
    )


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_https_with_a_trusted_ca_delivers_and_reuses(tls: tuple[str, trustme.CA]) -> None:
    """Verified TLS works, and several deliveries in a row all succeed on the kept-alive pool."""
    url, ca = tls
    async with make_client(5.0, _trusting(ca)) as client:
        sink = StateHubSink(client, url)
        kinds = [(await sink.send(_delivery(n))).kind for n in range(5)]
    assert kinds == ["delivered"] * 5


async def test_untrusted_certificate_is_refused_before_sending(tls: tuple[str, trustme.CA]) -> None:
    """A certificate the client does not trust fails as transient and surely not sent."""
    url, _ = tls
    async with make_client(5.0) as client:
        attempt = await StateHubSink(client, url).send(_delivery(99))
    assert (attempt.kind, attempt.ambiguous) == ("transient", False)


async def test_connection_refused_is_not_ambiguous() -> None:
    """Nothing listening: a connect error, retried, never read back."""
    async with make_client(2.0) as client:
        attempt = await StateHubSink(client, f"http://127.0.0.1:{free_port()}").send(_delivery(1))
    assert (attempt.kind, attempt.ambiguous) == ("transient", False)


async def test_pool_timeout_when_every_connection_is_busy() -> None:
    """With every slot held by a request in flight, another waits at most the pool timeout,
    then PoolTimeout (surely not sent); once the first ends, its slot serves the next one."""
    transport = KeepAliveTransport(ssl.create_default_context(), max_connections=1)
    timeout = httpx.Timeout(0.6, pool=0.2)
    with raw_server(None, close_after=False) as server:
        url = server.url
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
            errors: list[type[Exception]] = []

            async def hanging() -> None:
                try:
                    await client.get(url)  # never answered: holds the only slot 0.6 s
                except httpx.HTTPError as exc:
                    errors.append(type(exc))

            async with anyio.create_task_group() as tg:
                tg.start_soon(hanging)
                # The server has read its request: it holds the only slot from now on.
                await server.until(lambda: server.heads == 1, "the hanging request arrived")
                with pytest.raises(httpx.PoolTimeout):
                    await client.get(url)
            assert errors == [httpx.ReadTimeout]
            with pytest.raises(httpx.ReadTimeout):  # the slot was given back: no PoolTimeout
                await client.get(url)


async def test_idle_connection_closed_by_the_peer_is_not_reused() -> None:
    """A kept-alive connection the server closed while idle is dropped before reuse: the next
    request goes out on a new connection instead of failing on the dead one."""
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    with raw_server(ok, close_after=True) as server:
        async with make_client(2.0) as client:
            assert (await client.get(server.url)).status_code == 200
            # The server has closed it (on loopback its FIN is in our socket once close
            # returns): the connection is idle in the pool and dead.
            await server.until(lambda: server.closed == 1, "the server closed the first connection")
            assert (await client.get(server.url)).status_code == 200
    assert server.accepted == 2


async def test_no_answer_is_a_read_timeout_and_ambiguous() -> None:
    """A request sent but never answered times out as a read timeout: it may have landed."""
    with raw_server(None, close_after=False) as server:
        async with make_client(0.3) as client:
            attempt = await StateHubSink(client, server.url).send(_delivery(7))
    assert (attempt.kind, attempt.ambiguous) == ("transient", True)
    assert "ReadTimeout" in (attempt.error or "")


async def test_connection_closed_mid_response_is_ambiguous() -> None:
    """The server closing before the whole response arrived is a transient, ambiguous error."""
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok"
    with raw_server(cut, close_after=True) as server:
        async with make_client(2.0) as client:
            attempt = await StateHubSink(client, server.url).send(_delivery(8))
    assert (attempt.kind, attempt.ambiguous) == ("transient", True)


async def test_a_request_that_cannot_be_framed_is_an_httpx_error_without_its_value() -> None:
    """A header value with a line break (a key with a newline): httpx.LocalProtocolError,
    raised before any byte is sent, whose text does not quote the value."""
    secret = "canary-key-3e81"
    with serve_asgi(create_app()) as url:
        async with make_client(2.0) as client:
            with pytest.raises(httpx.LocalProtocolError) as caught:
                await client.post(f"{url}/progress/", headers={"X-Key": f"{secret}\n"}, json={})
    assert secret not in str(caught.value)


async def test_requests_to_one_origin_reuse_one_kept_alive_connection() -> None:
    """Deliveries in a row to one origin go out on one kept-alive connection."""
    with serve_asgi(client_port_app) as url:
        async with make_client(5.0) as client:
            ports = {(await client.get(url)).text for _ in range(3)}
    assert len(ports) == 1


async def test_a_response_body_over_the_cap_is_a_read_error() -> None:
    """An answer longer than the transport's body cap ends in httpx.ReadError (an ambiguous,
    transient delivery), and is not held in memory or kept on a reusable connection."""
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
    transport = KeepAliveTransport(ssl.create_default_context(), max_body=4096)
    with raw_server(big, close_after=False) as server:
        async with httpx.AsyncClient(transport=transport, timeout=2.0) as client:
            with pytest.raises(httpx.ReadError, match="over 4096 bytes"):
                await client.get(server.url)
            assert not any(transport._idle.values())  # the cut connection is not kept


@pytest.fixture
def high_descriptors() -> Iterator[None]:
    """Hold open descriptors until the next one opened is numbered 1024 or more."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1100:
        pytest.fail(f"this test needs RLIMIT_NOFILE >= 1100, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    held = []
    try:
        while (fd := os.open(os.devnull, os.O_RDONLY)) < 1024:
            held.append(fd)
        held.append(fd)
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.usefixtures("high_descriptors")
async def test_a_connection_numbered_above_1024_is_still_reused() -> None:
    """The idle check before reuse works for any descriptor number: select() cannot watch a
    descriptor of 1024 or more, poll() can, so the connection is still reused there."""
    with serve_asgi(client_port_app) as url:
        async with make_client(5.0) as client:
            ports = {(await client.get(url)).text for _ in range(3)}
    assert len(ports) == 1


async def test_a_prepared_request_goes_to_the_transport_the_client_picks_for_its_url() -> None:
    """`send_prepared` sends through the transport mounted for the URL (a proxy from the
    environment is such a mount), returns the whole body, and the response knows its request."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, content=b'{"id": "e1"}')

    mounted = httpx.MockTransport(answer)  # a scripted stand-in for a proxy transport
    with serve_asgi(client_port_app) as url:
        async with httpx.AsyncClient(mounts={"http://hub.test": mounted}) as client:
            request = httpx.Request("POST", "http://hub.test/api/v2/interaction-events")
            response = await send_prepared(client, request)
            direct = await send_prepared(client, httpx.Request("GET", url))
    assert (response.status_code, response.json(), response.request) == (201, {"id": "e1"}, request)
    assert seen == [request]
    assert direct.status_code == 200  # through the default transport
    assert direct.text.isdigit()

"""Contract suite for the two HTTP transports: the probes' `FreshConnectionTransport`
(checks/transport.py, one connection per request) and the sinks' `KeepAliveTransport`
(delivery/sinks/transport.py, a keep-alive pool). What both promise, against real loopback
servers: a faithful request/response round trip; a stalled connect or answer ends in an
httpx timeout exception; nothing listening is httpx.ConnectError; a server that closes
mid-response, or answers something that is not HTTP, is an httpx error, never a hang.

Each transport's own promises stay in its own file (tests/checks/test_transport.py,
tests/delivery/sinks/test_transport.py). Both clients are built in `client_for` alone.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio
import httpx
import pytest
from starlette.types import Receive, Scope, Send

from ops_evidence.checks.transport import FreshConnectionTransport
from ops_evidence.delivery.sinks.transport import KeepAliveTransport
from tests.raw_http import raw_server
from tests.real_servers import free_port
from tests.servers import serve_asgi

pytestmark = pytest.mark.anyio
TRANSPORTS = ("fresh-connection", "keep-alive")
TIMEOUT = 0.5
# A failure must surface well within this: the transports may not hang past their timeout.
NO_HANG = TIMEOUT * 6
BIG = 300_000  # several reads' worth of body


@asynccontextmanager
async def client_for(name: str, wait_s: float = TIMEOUT) -> AsyncIterator[httpx.AsyncClient]:
    """An AsyncClient on transport `name`, with `wait_s` seconds for connect and reads."""
    context = ssl.create_default_context()
    transport: httpx.AsyncBaseTransport = (
        FreshConnectionTransport(context, wait_s)
        if name == "fresh-connection"
        else KeepAliveTransport(context, max_connections=4)
    )
    async with httpx.AsyncClient(transport=transport, timeout=wait_s) as client:
        yield client


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """An ASGI app that answers what it received: method, path, query, one header, body
    (201 for a POST); `/big` answers BIG bytes instead."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = dict(scope["headers"])
    answer = json.dumps(
        {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode(),
            "probe": headers.get(b"x-probe", b"").decode(),
            "body": body.decode(),
        }
    ).encode()
    if scope["path"] == "/big":
        answer = b"x" * BIG
    status = 201 if scope["method"] == "POST" else 200
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"x-served-by", b"echo")],
        }
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    """The echo app served by uvicorn on 127.0.0.1."""
    with serve_asgi(echo) as url:
        yield url


@contextmanager
def unaccepting_listener() -> Iterator[str]:
    """A listener whose accept queue is full (backlog 0, one connection queued, never
    accepted): a further connect gets no answer at all, as a server too busy to accept."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    queued = socket.create_connection(listener.getsockname())
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        queued.close()
        listener.close()


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_a_request_and_its_response_arrive_intact(name: str, echo_url: str) -> None:
    """Method, path, query, headers and body reach the server as sent; status, headers and
    body come back as answered, for several requests in a row on one client."""
    async with client_for(name) as client:
        posted = await client.post(
            f"{echo_url}/a/b?x=1&y=%20", content=b'{"k": "v"}', headers={"X-Probe": "p-1"}
        )
        got = await client.get(f"{echo_url}/c", headers={"X-Probe": "p-2"})
    assert (posted.status_code, posted.headers["x-served-by"]) == (201, "echo")
    assert posted.json() == {
        "method": "POST",
        "path": "/a/b",
        "query": "x=1&y=%20",
        "probe": "p-1",
        "body": '{"k": "v"}',
    }
    assert got.status_code == 200
    assert got.json() == {"method": "GET", "path": "/c", "query": "", "probe": "p-2", "body": ""}


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_a_body_larger_than_one_read_arrives_whole(name: str, echo_url: str) -> None:
    """A response body spanning many reads is returned complete."""
    async with client_for(name) as client:
        response = await client.get(f"{echo_url}/big")
    assert response.content == b"x" * BIG


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_a_server_that_never_answers_is_a_read_timeout(name: str) -> None:
    """The request is sent and no answer comes: httpx.ReadTimeout once the timeout passes."""
    with raw_server(None, close_after=False) as server:
        async with client_for(name) as client:
            with anyio.fail_after(NO_HANG), pytest.raises(httpx.ReadTimeout):
                await client.get(server.url)
    assert server.heads == 1  # it was sent: the timeout is the answer's


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_a_connect_that_gets_no_answer_is_a_connect_timeout(name: str) -> None:
    """A server too busy to accept (its queue full): httpx.ConnectTimeout, not a hang."""
    with unaccepting_listener() as url:
        async with client_for(name) as client:
            with anyio.fail_after(NO_HANG), pytest.raises(httpx.ConnectTimeout):
                await client.get(url)


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_nothing_listening_is_a_connect_error(name: str) -> None:
    """A refused connection is httpx.ConnectError (so a sink knows nothing was sent)."""
    async with client_for(name) as client:
        with anyio.fail_after(NO_HANG), pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{free_port()}/")


CUTS = {
    "closed before any answer": b"",
    "closed inside the head": b"HTTP/1.1 200 OK\r\nContent-Le",
    "closed inside the body": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok",
    "closed inside a chunked body": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
}


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("name", TRANSPORTS)
async def test_a_server_closing_mid_response_is_an_error_not_a_hang(name: str, cut: str) -> None:
    """The server closes before its answer is complete: an httpx transport error (never a
    truncated success), well before any timeout could have ended it."""
    with raw_server(CUTS[cut], close_after=True) as server:
        async with client_for(name, wait_s=NO_HANG) as client:
            with anyio.fail_after(NO_HANG / 2), pytest.raises(httpx.TransportError):
                await client.get(server.url)


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_an_answer_that_is_not_http_is_a_protocol_error(name: str) -> None:
    """A server speaking another protocol (an SSH banner) is httpx.RemoteProtocolError."""
    with raw_server(b"SSH-2.0-OpenSSH_9.2p1\r\n\r\n", close_after=True) as server:
        async with client_for(name) as client:
            with anyio.fail_after(NO_HANG), pytest.raises(httpx.RemoteProtocolError):
                await client.get(server.url)

"""The service's own HTTP listener on loopback: routing, methods, limits, bad and slow clients."""

from __future__ import annotations

import io
import json

import anyio
import httpx
import pytest

from ops_evidence.errors import UnavailableError
from ops_evidence.listener import Handler, Reply, bind, encode, split_listen
from ops_evidence.logging import configure_logging
from tests.servers import serve_listener

pytestmark = pytest.mark.anyio


async def _hello() -> Reply:
    return Reply(200, "text/plain; charset=utf-8", b"hello\n")


async def _broken() -> Reply:
    raise RuntimeError("page bug")


ROUTES: dict[str, Handler] = {"/": _hello, "/broken": _broken}


async def _raw(url: str, request: bytes, *, read_deadline: float = 10) -> bytes:
    """Send raw bytes, read until the server closes (bounded)."""
    host, port = split_listen(url.removeprefix("http://"))
    chunks = []
    with anyio.fail_after(read_deadline):
        async with await anyio.connect_tcp(host, port) as stream:
            if request:
                await stream.send(request)
            try:
                while True:
                    chunks.append(await stream.receive())
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                pass
    return b"".join(chunks)


async def test_get_answers_and_closes() -> None:
    """A GET gets the route's answer, a content length, no caching and `connection: close`."""
    async with serve_listener(ROUTES) as url, httpx.AsyncClient() as client:
        response = await client.get(url + "/?x=1")
    assert response.status_code == 200
    assert response.text == "hello\n"
    assert response.headers["content-length"] == "6"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["connection"] == "close"


async def test_head_has_headers_only() -> None:
    """HEAD answers the same status and length, without a body."""
    async with serve_listener(ROUTES) as url:
        raw = await _raw(url, b"HEAD / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 6\r\n" in raw
    assert raw.endswith(b"\r\n\r\n")


async def test_unknown_path_and_method() -> None:
    """An unknown path is 404; a method other than GET/HEAD is 405 with `allow`."""
    async with serve_listener(ROUTES) as url, httpx.AsyncClient() as client:
        missing = await client.get(url + "/nowhere")
        posted = await client.post(url + "/", content=b"x")
    assert missing.status_code == 404
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET, HEAD"


async def test_failing_page_is_500_and_listener_goes_on() -> None:
    """A handler that raises gives 500 and one log line; the next request is answered."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    async with serve_listener(ROUTES) as url, httpx.AsyncClient() as client:
        broken = await client.get(url + "/broken")
        after = await client.get(url + "/")
    assert broken.status_code == 500
    assert after.status_code == 200
    line = json.loads(stream.getvalue().strip())
    assert line["event"] == "listener_error"
    assert line["path"] == "/broken"
    assert line["error"] == "RuntimeError: page bug"


async def test_malformed_request_is_400() -> None:
    """A request h11 cannot parse is answered 400 and closed."""
    async with serve_listener(ROUTES) as url:
        raw = await _raw(url, b"GET / HTTP/1.1\r\nbad header line\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_oversized_head_is_431() -> None:
    """A request head past the size limit is refused with 431."""
    huge = b"GET / HTTP/1.1\r\nhost: x\r\nx-filler: " + b"a" * 100_000 + b"\r\n\r\n"
    async with serve_listener(ROUTES) as url:
        raw = await _raw(url, huge)
    assert raw.startswith(b"HTTP/1.1 431 ")


async def test_silent_client_is_dropped_after_the_deadline() -> None:
    """A client that connects and sends nothing is disconnected once the deadline passes."""
    async with serve_listener(ROUTES, deadline=0.3) as url:
        raw = await _raw(url, b"GET / HTTP/1.1\r\n", read_deadline=5)
    assert raw == b""


async def test_connections_past_the_cap_get_503() -> None:
    """With the cap reached by idle connections, the next one is answered 503 at once."""
    async with serve_listener(ROUTES, max_connections=2, deadline=5) as url:
        host, port = split_listen(url.removeprefix("http://"))
        idle = [await anyio.connect_tcp(host, port) for _ in range(2)]
        try:
            raw = b""
            with anyio.fail_after(5):
                while not raw.startswith(b"HTTP/1.1 503"):  # poll: registration is async
                    raw = await _raw(url, b"")
        finally:
            for stream in idle:
                await stream.aclose()


async def test_stop_lets_an_open_request_finish() -> None:
    """Setting stop ends accepting; a request already being served still gets its answer."""
    release = anyio.Event()
    started = anyio.Event()

    async def slow() -> Reply:
        started.set()
        await release.wait()
        return Reply(200, "text/plain", b"late\n")

    answers: list[int] = []
    async with serve_listener({"/slow": slow}) as url, httpx.AsyncClient() as client:

        async def fetch() -> None:
            answers.append((await client.get(url + "/slow")).status_code)

        async with anyio.create_task_group() as tg:
            tg.start_soon(fetch)
            await started.wait()
            release.set()
    assert answers == [200]


def test_encode_head_only_keeps_length() -> None:
    """The wire form of HEAD is the GET's head with the body's length and no body."""
    reply = Reply(503, "application/json", b'{"status":"starting"}')
    head = encode(reply, head_only=True)
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"content-length: 21\r\n" in head
    assert encode(reply) == head + reply.body


def test_bind_in_use_is_one_error() -> None:
    """Binding a port that is taken raises UnavailableError naming the variable and address."""
    first = bind("127.0.0.1:0")
    try:
        taken = f"127.0.0.1:{first.getsockname()[1]}"
        with pytest.raises(UnavailableError, match="OPS_EVIDENCE_LISTEN: cannot listen on"):
            bind(taken).close()
    finally:
        first.close()

"""The service's own HTTP listener on loopback: routing, methods, limits, bad and slow clients,
stopping and cancellation."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import anyio
import anyio.abc
import httpx
import pytest

from ops_evidence.errors import UnavailableError
from ops_evidence.http.listener import Handler, Listener, Reply, bind, encode, split_listen
from ops_evidence.logging import configure_logging
from tests.servers import serve_listener

pytestmark = pytest.mark.anyio


async def _hello() -> Reply:
    return Reply(200, "text/plain; charset=utf-8", b"hello\n")


async def _broken() -> Reply:
    raise RuntimeError("page bug")


ROUTES: dict[str, Handler] = {"/": _hello, "/broken": _broken}


def _blocking(started: anyio.Event, release: anyio.Event) -> Handler:
    """A page that reports it has started and answers once released."""

    async def page() -> Reply:
        started.set()
        await release.wait()
        return Reply(200, "text/plain", b"late\n")

    return page


async def _connect(url: str) -> anyio.abc.SocketStream:
    host, port = split_listen(url.removeprefix("http://"))
    return await anyio.connect_tcp(host, port)


async def _read_all(stream: anyio.abc.SocketStream, deadline: float = 10) -> bytes:
    """Everything the server sends until it closes (FIN or reset), bounded."""
    chunks = []
    with anyio.fail_after(deadline):
        try:
            while True:
                chunks.append(await stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass
    return b"".join(chunks)


async def _raw(url: str, request: bytes, deadline: float = 10) -> bytes:
    """Send raw bytes, read until the server closes (bounded)."""
    async with await _connect(url) as stream:
        if request:
            await stream.send(request)
        return await _read_all(stream, deadline)


async def _until(condition: Callable[[], bool], deadline: float = 5) -> None:
    """Poll a condition the listener reaches asynchronously, with a deadline."""
    with anyio.fail_after(deadline):
        while not condition():  # noqa: ASYNC110 - the listener's state has no event to wait on
            await anyio.sleep(0.005)


def _log() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    return stream


async def test_get_answers_and_closes() -> None:
    """A GET gets the route's answer, a length, a date, no caching and `connection: close`."""
    async with serve_listener(ROUTES) as url, httpx.AsyncClient() as client:
        response = await client.get(url + "/?x=1")
    assert response.status_code == 200
    assert response.text == "hello\n"
    assert response.headers["content-length"] == "6"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["connection"] == "close"
    assert response.headers["date"].endswith(" GMT")


async def test_head_has_headers_only() -> None:
    """HEAD answers the same status and length, without a body."""
    async with serve_listener(ROUTES) as url:
        raw = await _raw(url, b"HEAD / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 6\r\n" in raw
    assert raw.endswith(b"\r\n\r\n")


async def test_absolute_form_target_is_routed_by_its_path() -> None:
    """`GET http://host/path` (absolute form, RFC 9112 §3.2.2) reaches the route for /path."""
    async with serve_listener(ROUTES) as url:
        raw = await _raw(url, f"GET {url}/?q=1 HTTP/1.1\r\nhost: x\r\n\r\n".encode())
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert raw.endswith(b"hello\n")


async def test_unknown_path_and_method() -> None:
    """An unknown path is 404; a method other than GET/HEAD is 405 with `allow`."""
    async with serve_listener(ROUTES) as url, httpx.AsyncClient() as client:
        missing = await client.get(url + "/nowhere")
        posted = await client.post(url + "/", content=b"x")
    assert missing.status_code == 404
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET, HEAD"


async def test_a_body_nobody_reads_does_not_reset_the_answer() -> None:
    """A POST with an 8 MiB body (more than the sockets buffer) still gets its 405: the unread
    body is drained after the answer, not cut off with a reset."""
    async with serve_listener(ROUTES) as url, httpx.AsyncClient() as client:
        for _ in range(3):
            posted = await client.post(url + "/", content=b"x" * (8 << 20))
            assert posted.status_code == 405


async def test_failing_page_is_500_and_listener_goes_on() -> None:
    """A handler that raises gives 500 and one log line; the next request is answered."""
    stream = _log()
    async with serve_listener(ROUTES) as url, httpx.AsyncClient() as client:
        broken = await client.get(url + "/broken")
        after = await client.get(url + "/")
    assert broken.status_code == 500
    assert after.status_code == 200
    line = json.loads(stream.getvalue().strip())
    assert line["event"] == "listener_error"
    assert line["path"] == "/broken"
    assert line["error"] == "RuntimeError: page bug"


async def test_slow_page_is_503_and_logged() -> None:
    """A page that takes longer than its deadline is answered 503 and logged, not dropped."""
    stream = _log()
    never = _blocking(anyio.Event(), anyio.Event())
    async with (
        serve_listener({"/slow": never}, handler_deadline=0.2) as url,
        httpx.AsyncClient() as client,
    ):
        response = await client.get(url + "/slow")
    assert response.status_code == 503
    line = json.loads(stream.getvalue().strip())
    assert (line["event"], line["path"]) == ("listener_timeout", "/slow")


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


@pytest.mark.parametrize("sent", [b"", b"GET / HTTP/1.1\r\n"], ids=["nothing", "half a head"])
async def test_silent_client_is_dropped_after_the_head_deadline(sent: bytes) -> None:
    """A client that sends no complete request head is disconnected, unanswered, in time."""
    async with serve_listener(ROUTES, head_deadline=0.3) as url:
        assert await _raw(url, sent, deadline=5) == b""


async def test_at_the_cap_the_oldest_silent_connection_makes_room() -> None:
    """Idle sockets cannot starve real requests: at the cap, a new request is answered and the
    oldest connection that never asked anything is dropped."""
    listener = Listener(ROUTES, max_connections=2)
    async with serve_listener(listener) as url:
        oldest, newer = await _connect(url), await _connect(url)
        try:
            await _until(lambda: listener.open_connections == 2)
            async with httpx.AsyncClient() as client:
                assert (await client.get(url + "/")).status_code == 200
            assert await _read_all(oldest, deadline=5) == b""  # closed by the listener
            assert listener.open_connections == 1  # `newer` still waits for its deadline
        finally:
            await oldest.aclose()
            await newer.aclose()


async def test_at_the_cap_with_every_connection_answering_a_newcomer_gets_503() -> None:
    """When every open connection is being answered, a new one is told 503 at once."""
    started, release = anyio.Event(), anyio.Event()
    async with (
        serve_listener(
            {"/slow": _blocking(started, release), "/": _hello}, max_connections=1
        ) as url,
        httpx.AsyncClient() as client,
        anyio.create_task_group() as tg,
    ):
        statuses: list[int] = []

        async def slow() -> None:
            statuses.append((await client.get(url + "/slow")).status_code)

        tg.start_soon(slow)
        await started.wait()
        assert (await client.get(url + "/")).status_code == 503
        release.set()
    assert statuses == [200]


async def test_stop_ends_accepting_and_lets_an_open_request_finish() -> None:
    """After stop, new connections are refused, while the request being answered completes."""
    started, release, stop = anyio.Event(), anyio.Event(), anyio.Event()
    statuses: list[int] = []
    async with (
        serve_listener({"/slow": _blocking(started, release)}, stop=stop) as url,
        httpx.AsyncClient() as client,
        anyio.create_task_group() as tg,
    ):

        async def slow() -> None:
            statuses.append((await client.get(url + "/slow")).status_code)

        tg.start_soon(slow)
        await started.wait()
        stop.set()
        with anyio.fail_after(5):
            while True:  # poll: the listening socket closes once `serve` sees the stop
                try:
                    await (await _connect(url)).aclose()
                except OSError:
                    break
                await anyio.sleep(0.01)
        release.set()
    assert statuses == [200]


async def test_cancelling_serve_closes_every_open_connection_at_once() -> None:
    """Cancelled (the service's task group going down), the listener leaves nothing behind:
    a silent client and one waiting for a page are both disconnected before it returns."""
    started = anyio.Event()
    listener = Listener({"/slow": _blocking(started, anyio.Event())})
    sock = bind("127.0.0.1:0")
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, sock, anyio.Event())
        silent = await _connect(url)
        waiting = await _connect(url)
        await waiting.send(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        await started.wait()
        tg.cancel_scope.cancel()
    assert listener.open_connections == 0
    for stream in (silent, waiting):
        assert await _read_all(stream, deadline=2) == b""
        await stream.aclose()


def test_encode_head_only_keeps_length() -> None:
    """The wire form of HEAD is the GET's head with the body's length and no body."""
    reply = Reply(503, "application/json", b'{"status":"starting"}')
    head = encode(reply, head_only=True)
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"content-length: 21\r\n" in head
    assert encode(reply).endswith(b"\r\n\r\n" + reply.body)


def test_bind_in_use_is_one_error() -> None:
    """Binding a port that is taken raises UnavailableError naming the variable and address."""
    first = bind("127.0.0.1:0")
    try:
        taken = f"127.0.0.1:{first.getsockname()[1]}"
        with pytest.raises(UnavailableError, match="OPS_EVIDENCE_LISTEN: cannot listen on"):
            bind(taken).close()
    finally:
        first.close()

"""The service's listener: a small HTTP/1.1 server for its read-only GET routes.

uvicorn and Starlette (which the emulator and the demo use) cost the long-running pod about
2 MiB of its 60 MB resident budget to serve /healthz, /readyz, /metrics and one HTML page.
h11, already the sink transport's codec, parses the requests; what is written here is the
loop around it: one request per connection (the answer says `connection: close`), separate
bounds on receiving the request head, building the page and sending it, and a cap on open
connections that evicts clients still silent rather than refusing new ones, so idle sockets
cannot starve the kubelet's probes. Answers are built whole by the handlers, so writing them
needs no HTTP library. It runs on asyncio streams: the service's anyio backend is asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import urlsplit

import anyio
import h11

from ops_evidence.errors import UnavailableError, describe_exception
from ops_evidence.logging import get_logger

log = get_logger(component="listener")

# Seconds a client has to send its request head (kubelet and Prometheus send it at once).
HEAD_DEADLINE = 5.0
# Seconds a page may take to build before the answer is 503 (the outbox is asked for counts).
HANDLER_DEADLINE = 10.0
# Seconds the client has to take the answer.
SEND_DEADLINE = 10.0
# After answering, input still arriving (a body no route reads) is read and dropped for up to
# this long and this much, so closing does not reset the connection under the client's feet.
LINGER_SECONDS = 1.0
LINGER_BYTES = 16 << 20
# Largest incomplete request head h11 holds before answering 431; the routes take no body.
MAX_HEAD = 16 * 1024
# Open connections at once. Past it the oldest one that has not sent its request yet is
# dropped; only when every one is being answered is a newcomer told 503.
MAX_CONNECTIONS = 64
BACKLOG = 128
METHODS = (b"GET", b"HEAD")


@dataclass(frozen=True)
class Reply:
    """A whole answer: status, content type and body."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = field(default=())


Handler = Callable[[], Awaitable[Reply]]


def split_listen(listen: str) -> tuple[str, int]:
    """`127.0.0.1:9108` or `[::1]:9108` -> (host, port)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def bind(listen: str, what: str = "OPS_EVIDENCE_LISTEN") -> socket.socket:
    """The listening socket for HOST:PORT, bound before anything reports ready, so a port in
    use is one clear error (exit 69) rather than a failure mid-start. It listens at once: a
    connection made before the server accepts waits in the backlog instead of being refused."""
    host, port = split_listen(listen)
    sock: socket.socket | None = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise UnavailableError(f"{what}: cannot listen on {listen}: {exc.strerror}") from None
    return sock


def text_reply(status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """A plain-text answer (errors)."""
    return Reply(status, "text/plain; charset=utf-8", text.encode(), headers)


def encode(reply: Reply, *, head_only: bool = False) -> bytes:
    """The answer on the wire. Every value is ours (no client input), so none needs escaping."""
    lines = [
        f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}",
        f"date: {formatdate(usegmt=True)}",
        f"content-type: {reply.content_type}",
        f"content-length: {len(reply.body)}",
        "cache-control: no-store",
        "connection: close",
        *(f"{name}: {value}" for name, value in reply.headers),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + reply.body


@dataclass
class _Connection:
    writer: asyncio.StreamWriter
    waiting: bool = True  # no complete request head yet: first to go when the cap is reached


@dataclass
class Listener:
    """Serves `routes` (exact paths) on a bound socket until `stop` is set."""

    routes: Mapping[str, Handler]
    head_deadline: float = HEAD_DEADLINE
    handler_deadline: float = HANDLER_DEADLINE
    send_deadline: float = SEND_DEADLINE
    max_connections: int = MAX_CONNECTIONS
    # Oldest first (dicts keep insertion order).
    _open: dict[asyncio.Task[None], _Connection] = field(default_factory=dict)

    @property
    def open_connections(self) -> int:
        """Connections being served right now."""
        return len(self._open)

    async def serve(self, sock: socket.socket, stop: anyio.Event) -> None:
        """Accept until `stop`, then stop accepting and give open requests their bounds. If
        cancelled instead, every open connection is closed at once; none outlives this call."""
        server = await asyncio.start_server(self._accept, sock=sock, backlog=BACKLOG)
        try:
            await stop.wait()
            server.close()
            if self._open:
                bound = self.head_deadline + self.handler_deadline + self.send_deadline
                await asyncio.wait(list(self._open), timeout=bound)
        finally:
            server.close()
            with anyio.CancelScope(shield=True):
                await self._close_all()

    async def _close_all(self) -> None:
        tasks = list(self._open)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Nothing may escape this callback: asyncio would print it as a bare traceback.
        task = asyncio.current_task()
        assert task is not None  # a stream callback always runs in a task
        if not self._make_room():
            with contextlib.suppress(Exception):
                writer.write(encode(text_reply(503, "busy\n")))
                writer.close()
            return
        connection = self._open[task] = _Connection(writer)
        try:
            reply, head_only = await self._answer(reader, connection)
            async with asyncio.timeout(self.send_deadline):
                writer.write(encode(reply, head_only=head_only))
                await writer.drain()
                await _linger(reader, writer)
        except (TimeoutError, ConnectionError, asyncio.CancelledError):
            pass  # too slow, gone, evicted or shutting down: nothing more to say
        except Exception as exc:  # noqa: BLE001 - one bad connection must not leak a traceback
            log.error("listener_error", error=describe_exception(exc))  # noqa: TRY400
        finally:
            self._open.pop(task, None)
            if not writer.transport.is_closing():
                writer.transport.abort()

    def _make_room(self) -> bool:
        """Below the cap, or made so by dropping the oldest connection not yet asking."""
        if len(self._open) < self.max_connections:
            return True
        oldest = next((t for t, c in self._open.items() if c.waiting), None)
        if oldest is None:
            return False
        self._open.pop(oldest).writer.transport.abort()
        oldest.cancel()
        return True

    async def _answer(
        self, reader: asyncio.StreamReader, connection: _Connection
    ) -> tuple[Reply, bool]:
        """The reply to the connection's request, and whether it was a HEAD. A client that
        sends no complete head within the deadline gets TimeoutError (dropped unanswered)."""
        try:
            async with asyncio.timeout(self.head_deadline):
                request = await _read_request(reader)
        except h11.RemoteProtocolError as exc:
            return text_reply(exc.error_status_hint, "bad request\n"), False
        connection.waiting = False
        if request is None:
            raise ConnectionError("closed before a request")
        if request.method not in METHODS:
            return text_reply(405, "method not allowed\n", (("allow", "GET, HEAD"),)), False
        head_only = request.method == b"HEAD"
        path = _path(request.target.decode("latin-1"))
        handler = self.routes.get(path)
        if handler is None:
            return text_reply(404, "not found\n"), head_only
        try:
            async with asyncio.timeout(self.handler_deadline):
                return await handler(), head_only
        except TimeoutError:
            log.warning("listener_timeout", path=path, seconds=self.handler_deadline)
            return text_reply(503, "timed out\n"), head_only
        except Exception as exc:  # noqa: BLE001 - a page failing must not take the listener down
            log.error("listener_error", path=path, error=describe_exception(exc))  # noqa: TRY400
            return text_reply(500, "internal error\n"), head_only


def _path(target: str) -> str:
    """The path of an origin-form (`/x?y`) or absolute-form (`http://h/x`) request target."""
    if not target.startswith("/"):
        target = urlsplit(target).path or "/"
    return target.split("?", 1)[0]


async def _read_request(reader: asyncio.StreamReader) -> h11.Request | None:
    """The request head (a body, if any, is not read: no route takes one); None on EOF."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(4096))
        elif isinstance(event, h11.Request):
            return event
        else:  # ConnectionClosed: the client left without asking anything
            return None


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Close after the answer without resetting: say we are done sending, then drop what the
    client still sends (bounded) until it closes too."""
    if writer.can_write_eof():
        writer.write_eof()
    dropped = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LINGER_SECONDS):
            while dropped < LINGER_BYTES and (chunk := await reader.read(65536)):
                dropped += len(chunk)
    writer.close()

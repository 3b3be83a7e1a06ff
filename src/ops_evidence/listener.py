"""The service's listener: a small HTTP/1.1 server for its read-only GET routes.

uvicorn and Starlette (which the emulator and the demo use) cost the long-running pod about
2 MiB of its 60 MB resident budget to serve /healthz, /readyz, /metrics and one HTML page.
h11, already the sink transport's codec, parses the requests; what is written here is the
loop around it: one request per connection (the answer says `connection: close`), a deadline
and a size limit on each request, and a cap on open connections. Answers are built whole by
the handlers, so writing them needs no HTTP library.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

import anyio
import h11

from ops_evidence.checks.base import describe_exception
from ops_evidence.errors import UnavailableError
from ops_evidence.logging import get_logger

log = get_logger(component="listener")

# Seconds a client has to send its request head and take the answer: a slow or silent client
# costs one task for at most this long.
REQUEST_DEADLINE = 10.0
# Largest request head accepted (h11 answers 431 past it); the routes take no body.
MAX_HEAD = 16 * 1024
# Open connections at once; past it a new one is answered 503 and closed. Kubelet probes and
# a Prometheus scrape need a handful.
MAX_CONNECTIONS = 64
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
        sock.listen(128)
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
        f"content-type: {reply.content_type}",
        f"content-length: {len(reply.body)}",
        "cache-control: no-store",
        "connection: close",
        *(f"{name}: {value}" for name, value in reply.headers),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + reply.body


@dataclass
class Listener:
    """Serves `routes` (exact paths) on a bound socket until `stop` is set."""

    routes: Mapping[str, Handler]
    deadline: float = REQUEST_DEADLINE
    max_connections: int = MAX_CONNECTIONS
    _open: set[asyncio.Task[None]] = field(default_factory=set)

    async def serve(self, sock: socket.socket, stop: anyio.Event) -> None:
        """Accept until `stop`; then stop accepting and give open requests their deadline."""
        server = await asyncio.start_server(self._accept, sock=sock)
        try:
            await stop.wait()
        finally:
            server.close()
            if self._open:
                _, late = await asyncio.wait(self._open, timeout=self.deadline)
                for task in late:
                    task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # a stream callback always runs in a task
        if len(self._open) >= self.max_connections:
            with contextlib.suppress(ConnectionError):
                await _send(writer, text_reply(503, "busy\n"))
            return
        self._open.add(task)
        try:
            # One deadline for reading the request and handing over the answer.
            async with asyncio.timeout(self.deadline):
                reply, head_only = await self._answer(reader)
                await _send(writer, reply, head_only=head_only)
        except (TimeoutError, ConnectionError):
            writer.transport.abort()  # too slow, or gone: nothing more to say
        finally:
            self._open.discard(task)

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[Reply, bool]:
        """The reply to the connection's request, and whether it was a HEAD."""
        try:
            request = await _read_request(reader)
        except h11.RemoteProtocolError as exc:
            return text_reply(exc.error_status_hint, "bad request\n"), False
        if request is None:
            raise ConnectionError("closed before a request")
        if request.method not in METHODS:
            return text_reply(405, "method not allowed\n", (("allow", "GET, HEAD"),)), False
        head_only = request.method == b"HEAD"
        path = request.target.split(b"?", 1)[0].decode("latin-1")
        handler = self.routes.get(path)
        if handler is None:
            return text_reply(404, "not found\n"), head_only
        try:
            return await handler(), head_only
        except Exception as exc:  # noqa: BLE001 - a page failing must not take the listener down
            log.error("listener_error", path=path, error=describe_exception(exc))  # noqa: TRY400
            return text_reply(500, "internal error\n"), head_only


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


async def _send(writer: asyncio.StreamWriter, reply: Reply, *, head_only: bool = False) -> None:
    writer.write(encode(reply, head_only=head_only))
    try:
        await writer.drain()
    finally:
        writer.close()

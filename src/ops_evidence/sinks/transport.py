"""A lean HTTP/1.1 keep-alive transport for the sinks (h11 framing, bounded connections).

Why not httpx's default transport: httpcore's pool costs about 1 ms of CPU per request here
and more as concurrency grows (it re-checks every pooled connection, through several layers,
on each request), while a delivery needs only "reuse an idle connection to this origin, or
open one". Measured by bench/delivery.py: the pool was most of the drain's CPU per event.

Semantics the sinks rely on are kept: failures map onto httpx's exceptions, and only
`ConnectError`/`ConnectTimeout`/`PoolTimeout` mean "the request surely never left" (see
`classify_exception`). An idle connection is checked before reuse (a peer that closed it is
readable at EOF) so a stale socket is dropped instead of eating a request.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.abc
import h11
import httpx
from anyio.abc import SocketAttribute

_READ = 65536
Origin = tuple[str, str, int]


class _Connection:
    """One kept-alive connection: its stream and h11 state machine."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)
        # Looked up once: anyio builds its attribute mapping on every `extra` call.
        self.sock: socket.socket | None = stream.extra(SocketAttribute.raw_socket, None)  # noqa: S610 - anyio

    def reusable(self) -> bool:
        """Idle at both ends and not closed by the peer meanwhile."""
        if self.h11.our_state is not h11.IDLE or self.h11.their_state is not h11.IDLE:
            return False
        if self.sock is None:
            return False
        try:
            readable, _, _ = select.select([self.sock.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        # Readable while idle means EOF (the peer closed it) or unsolicited bytes: drop it.
        return not readable

    async def next_event(self, wait_s: float | None) -> Any:
        """The next h11 event, reading from the socket as needed."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event
            try:
                with anyio.fail_after(wait_s):
                    data = await self.stream.receive(_READ)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                data = b""
            except TimeoutError as exc:
                raise httpx.ReadTimeout("no answer in time") from exc
            except OSError as exc:
                raise httpx.ReadError(str(exc)) from exc
            self.h11.receive_data(data)

    async def close(self) -> None:
        """Close without waiting for the peer."""
        await anyio.aclose_forcefully(self.stream)


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """At most `max_connections` connections in all; idle ones are reused per origin."""

    def __init__(self, ssl_context: ssl.SSLContext, max_connections: int = 32) -> None:
        self._ssl = ssl_context
        self._slots = anyio.CapacityLimiter(max_connections)
        self._idle: dict[Origin, list[_Connection]] = {}

    async def _connect(self, origin: Origin, wait_s: float | None) -> _Connection:
        scheme, host, port = origin
        try:
            with anyio.fail_after(wait_s):
                if scheme == "https":
                    stream: anyio.abc.ByteStream = await anyio.connect_tcp(
                        host, port, ssl_context=self._ssl, tls_hostname=host
                    )
                else:
                    stream = await anyio.connect_tcp(host, port)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("no connection in time") from exc
        except (OSError, ssl.SSLError, anyio.BrokenResourceError) as exc:
            raise httpx.ConnectError(str(exc)) from exc
        return _Connection(stream)

    async def _checkout(self, origin: Origin, wait_s: float | None) -> _Connection:
        idle = self._idle.get(origin, [])
        while idle:
            conn = idle.pop()
            if conn.reusable():
                return conn
            await conn.close()
        return await self._connect(origin, wait_s)

    def _checkin(self, origin: Origin, conn: _Connection) -> bool:
        """Keep the connection if its exchange ended cleanly; False if it must be closed."""
        if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            conn.h11.start_next_cycle()
            self._idle.setdefault(origin, []).append(conn)
            return True
        return False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send on an idle or new connection; the body streams from it afterwards."""
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        token = object()
        await self._acquire(token, timeouts.get("pool"))
        try:
            conn = await self._checkout(origin, timeouts.get("connect"))
            try:
                head = await self._exchange(conn, request, timeouts)
            except BaseException:
                await conn.close()
                raise
        except BaseException:
            self._slots.release_on_behalf_of(token)
            raise
        return httpx.Response(
            status_code=head.status_code,
            headers=head.headers.raw_items(),
            stream=_Body(self, origin, conn, token, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def _acquire(self, token: object, wait_s: float | None) -> None:
        """Take a connection slot, waiting at most `wait_s` (PoolTimeout after)."""
        if self._slots.available_tokens >= 1:
            self._slots.acquire_on_behalf_of_nowait(token)  # a free slot: no timeout scope
            return
        try:
            with anyio.fail_after(wait_s):
                await self._slots.acquire_on_behalf_of(token)
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free connection in time") from exc

    @staticmethod
    async def _exchange(
        conn: _Connection, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> h11.Response:
        head = h11.Request(
            method=request.method, target=request.url.raw_path, headers=request.headers.raw
        )
        body = await request.aread()
        data = conn.h11.send(head) or b""
        if body:
            data += conn.h11.send(h11.Data(data=body)) or b""
        data += conn.h11.send(h11.EndOfMessage()) or b""
        try:
            with anyio.fail_after(timeouts.get("write")):
                await conn.stream.send(data)
        except TimeoutError as exc:
            raise httpx.WriteTimeout("request not written in time") from exc
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise httpx.WriteError(str(exc)) from exc
        event = await conn.next_event(timeouts.get("read"))
        while isinstance(event, h11.InformationalResponse):
            event = await conn.next_event(timeouts.get("read"))
        if not isinstance(event, h11.Response):
            raise httpx.RemoteProtocolError("connection closed before a response")
        return event

    async def release(self, origin: Origin, conn: _Connection, token: object) -> None:
        """Return a connection after its response (by the body's `aclose`)."""
        try:
            if not self._checkin(origin, conn):
                await conn.close()
        finally:
            self._slots.release_on_behalf_of(token)

    async def aclose(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                await conn.close()


class _Body(httpx.AsyncByteStream):
    """The response body; closing it returns the connection to the pool (or closes it)."""

    def __init__(
        self,
        transport: KeepAliveTransport,
        origin: Origin,
        conn: _Connection,
        token: object,
        timeout: float | None,
    ) -> None:
        self._transport, self._origin, self._conn = transport, origin, conn
        self._token, self._timeout = token, timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """Yield body chunks until the end of the message."""
        while True:
            event = await self._conn.next_event(self._timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return

    async def aclose(self) -> None:
        """Give the connection back (kept only if the exchange completed)."""
        if not self._closed:
            self._closed = True
            await self._transport.release(self._origin, self._conn, self._token)

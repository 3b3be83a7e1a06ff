"""A lean HTTP/1.1 keep-alive transport for the sinks (h11 framing, bounded connections).

Why not httpx's default transport: httpcore's pool costs about 1 ms of CPU per request here
and more as concurrency grows (it re-checks every pooled connection, through several layers,
on each request), while a delivery needs only "reuse an idle connection to this origin, or
open one". Measured by bench/delivery.py: the pool was most of the drain's CPU per event.

Semantics the sinks rely on are kept: failures map onto httpx's exceptions, and only
`ConnectError`/`ConnectTimeout`/`PoolTimeout` mean "the request surely never left" (see
`classify_exception`). An idle connection is checked before reuse (a peer that closed it is
readable at EOF) so a stale socket is dropped instead of eating a request.

Each connection is an asyncio protocol (the service runs on asyncio only; see
delivery/sinks/http.py) rather than an anyio stream, a free connection slot is taken without a
timeout scope, and a response's body is read before it is returned (no stream layers; the
connection is back in the pool at once): together about a fifth of a delivery's CPU
(bench/delivery.py).
"""

from __future__ import annotations

import asyncio
import select
import ssl
from typing import Any

import anyio
import h11
import httpx

Origin = tuple[str, str, int]


class _Connection(asyncio.Protocol):
    """One kept-alive connection: an asyncio protocol feeding an h11 state machine.

    A protocol rather than an anyio stream (bench/delivery.py): the stream's per-call
    timeout scopes, send/receive wrappers and pause/resume of reading on every receive cost
    about a tenth of a delivery's CPU. Reads arrive through `data_received`; a read waits on
    one future with one timer.
    """

    def __init__(self) -> None:
        self.h11 = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self.fileno = -1
        self._inbox = bytearray()
        self._eof = False
        self._error: OSError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    # -- asyncio.Protocol callbacks ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport and its socket's descriptor (for the idle check)."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        self.fileno = sock.fileno() if sock is not None else -1

    def data_received(self, data: bytes) -> None:
        """Buffer the bytes for `next_event`."""
        self._inbox += data
        self._wake()

    def eof_received(self) -> bool:
        """The peer closed its side: the response ends (or never comes)."""
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Closed by either side, with an error or not."""
        self._eof = True
        if isinstance(exc, OSError):
            self._error = exc
        self._wake()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        """The send buffer is full: `send` waits until it drains."""
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        """The send buffer drained."""
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- used by the transport -------------------------------------------------------------

    def reusable(self) -> bool:
        """Idle at both ends and not closed by the peer meanwhile."""
        if self.h11.our_state is not h11.IDLE or self.h11.their_state is not h11.IDLE:
            return False
        if self._eof or self._inbox or self.transport is None or self.transport.is_closing():
            return False
        try:
            # The loop may not have read a close that already arrived: ask the socket.
            readable, _, _ = select.select([self.fileno], [], [], 0)
        except (OSError, ValueError):
            return False
        # Readable while idle means EOF (the peer closed it) or unsolicited bytes: drop it.
        return not readable

    async def send(self, data: bytes, wait_s: float | None) -> None:
        """Write `data`; waits (at most `wait_s`) only while the send buffer is full."""
        if self.transport is None or self.transport.is_closing() or self._eof:
            raise httpx.WriteError("connection closed")
        self.transport.write(data)
        if self._drained is not None:
            try:
                await self._wait(self._drained, wait_s)
            except TimeoutError as exc:
                raise httpx.WriteTimeout("request not written in time") from exc
        if self._error is not None:
            raise httpx.WriteError(str(self._error))

    async def next_event(self, wait_s: float | None) -> Any:
        """The next h11 event, waiting (at most `wait_s` per read) for bytes as needed."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event
            if self._inbox:
                data, self._inbox = bytes(self._inbox), bytearray()
                self.h11.receive_data(data)
            elif self._eof:
                if self._error is not None:
                    raise httpx.ReadError(str(self._error))
                self.h11.receive_data(b"")
            else:
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._wait(self._waiter, wait_s)
                except TimeoutError as exc:
                    raise httpx.ReadTimeout("no answer in time") from exc
                finally:
                    self._waiter = None

    @staticmethod
    async def _wait(future: asyncio.Future[None], wait_s: float | None) -> None:
        """Await `future`; TimeoutError after `wait_s` seconds (None: no limit)."""
        if wait_s is None:
            await future
            return
        timer = asyncio.get_running_loop().call_later(wait_s, _expire, future)
        try:
            await future
        finally:
            timer.cancel()

    async def close(self) -> None:
        """Close without waiting for the peer."""
        if self.transport is not None:
            self.transport.abort()


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """At most `max_connections` connections in all; idle ones are reused per origin."""

    def __init__(self, ssl_context: ssl.SSLContext, max_connections: int = 32) -> None:
        self._ssl = ssl_context
        self._slots = anyio.CapacityLimiter(max_connections)
        self._idle: dict[Origin, list[_Connection]] = {}

    async def _connect(self, origin: Origin, wait_s: float | None) -> _Connection:
        scheme, host, port = origin
        tls = scheme == "https"
        loop = asyncio.get_running_loop()
        try:
            with anyio.fail_after(wait_s):
                _, conn = await loop.create_connection(
                    _Connection,
                    host,
                    port,
                    ssl=self._ssl if tls else None,
                    server_hostname=host if tls else None,
                    happy_eyeballs_delay=0.25,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("no connection in time") from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc)) from exc
        return conn

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
        """Send on an idle or new connection and read the whole response.

        The body is read here, not streamed (the sinks read every body, and they are small):
        the connection goes back to the pool before the response is returned.
        """
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        token = object()
        await self._acquire(token, timeouts.get("pool"))
        try:
            conn = await self._checkout(origin, timeouts.get("connect"))
            try:
                head = await self._exchange(conn, request, timeouts)
                body = await _read_body(conn, timeouts.get("read"))
            except BaseException:
                await conn.close()
                raise
            if not self._checkin(origin, conn):
                await conn.close()
        finally:
            self._slots.release_on_behalf_of(token)
        return httpx.Response(
            status_code=head.status_code,
            headers=head.headers.raw_items(),
            content=body,
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
        body = await request.aread()
        try:
            head = h11.Request(
                method=request.method, target=request.url.raw_path, headers=request.headers.raw
            )
            data = conn.h11.send(head) or b""
            if body:
                data += conn.h11.send(h11.Data(data=body)) or b""
            data += conn.h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            # Our own request cannot be framed (e.g. a header value with a line break); no
            # byte was sent. h11's message quotes the offending value, which may be the key,
            # so it is not passed on. An httpx error, so the sink classifies it, never raises.
            raise httpx.LocalProtocolError("request cannot be framed (illegal header)") from None
        await conn.send(data, timeouts.get("write"))
        event = await conn.next_event(timeouts.get("read"))
        while isinstance(event, h11.InformationalResponse):
            event = await conn.next_event(timeouts.get("read"))
        if not isinstance(event, h11.Response):
            raise httpx.RemoteProtocolError("connection closed before a response")
        return event

    async def aclose(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                await conn.close()


async def _read_body(conn: _Connection, wait_s: float | None) -> bytes:
    """The response body, to its end (or to EOF for a close-delimited one)."""
    chunks = []
    while True:
        event = await conn.next_event(wait_s)
        if isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            return b"".join(chunks)

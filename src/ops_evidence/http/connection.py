"""One HTTP/1.1 client connection: an asyncio protocol feeding h11. Both transports use it.

The probes' transport (`checks/transport.py`) opens one per request; the sinks' transport
(`delivery/sinks/transport.py`) keeps idle ones for reuse. httpx's own transports
(httpcore) cost more CPU per request for both, with sniffio installed: measured with
`bench/probes.py --transport httpx` and `bench/delivery.py --transport httpx`; the figures are
in each transport's docstring.

A protocol rather than an anyio stream: anyio's `connect_tcp` starts a task group and a task
per connect even for a literal IP (0.25 ms of CPU per loopback connect + close, against
0.08 ms for `loop.create_connection` with a bare protocol; bench/README.md, `service.py`
section), and the stream's per-call timeout scopes and pause/resume of reading on every
receive cost about a tenth of a delivery's CPU. Reads arrive through `data_received`; a
read waits on one future with one timer.

Failures map onto httpx's exceptions, so the client, the checks and the sinks classify them
as for any transport: `ConnectError`/`ConnectTimeout` mean the request never left.
"""

from __future__ import annotations

import asyncio
import select
import ssl
from typing import Any

import h11
import httpx

MAX_BODY = 16 * 1024 * 1024
"""A response body longer than this is an error (`ReadError`), not a memory spike. Hubs answer
with small JSON documents; a probe reads only its own cap (`checks/http.py`) and then closes."""


class Connection(asyncio.Protocol):
    """A connected socket's h11 state machine, its unread bytes, and who waits for them."""

    def __init__(self) -> None:
        self.h11 = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self._inbox = bytearray()
        self._heard = False  # any byte received: a reset after it is judged by h11 as an EOF
        self._eof = False
        self._error: OSError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    @classmethod
    async def open(
        cls,
        url: httpx.URL,
        ssl_context: ssl.SSLContext,
        wait_s: float | None,
        address: str | None = None,
    ) -> Connection:
        """Connect to the URL's origin, or to `address` instead of resolving its host; TLS for
        https, with SNI and the certificate check against the URL's host either way."""
        tls = url.scheme == "https"
        port = url.port or (443 if tls else 80)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(wait_s):
                _, conn = await loop.create_connection(
                    cls,
                    address or url.host,
                    port,
                    ssl=ssl_context if tls else None,
                    server_hostname=url.host if tls else None,
                    happy_eyeballs_delay=0.25,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("no connection in time") from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc)) from exc
        return conn

    # -- asyncio.Protocol callbacks ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        """Buffer the bytes for `next_event`."""
        self._inbox += data
        self._heard = True
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

    # -- used by the transports --------------------------------------------------------------

    def ssl_object(self) -> ssl.SSLObject | None:
        """The TLS connection's `SSLObject` (certificates, version); None for plain TCP."""
        if self.transport is None:
            return None
        found: ssl.SSLObject | None = self.transport.get_extra_info("ssl_object")
        return found

    def reusable(self) -> bool:
        """Idle at both ends and not closed by the peer meanwhile."""
        if self.h11.our_state is not h11.IDLE or self.h11.their_state is not h11.IDLE:
            return False
        if self._eof or self._inbox or self.transport is None or self.transport.is_closing():
            return False
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return False
        # The loop may not have read a close that already arrived: ask the socket. poll(), not
        # select(): select fails for descriptors of 1024 and above.
        poller = select.poll()
        try:
            poller.register(sock.fileno(), select.POLLIN)
            # Readable while idle means EOF (the peer closed it) or unsolicited bytes: drop it.
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    async def exchange(
        self, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> h11.Response:
        """Send the request and read the response's status line and headers."""
        self._heard = False
        await self._send(await _frame(self.h11, request), timeouts.get("write"))
        event = await self.next_event(timeouts.get("read"))
        while isinstance(event, h11.InformationalResponse):
            event = await self.next_event(timeouts.get("read"))
        if not isinstance(event, h11.Response):
            raise httpx.RemoteProtocolError("connection closed before a response")
        return event

    async def read_body(self, wait_s: float | None, cap: int = MAX_BODY) -> bytes:
        """The whole response body (to its end, or EOF if close-delimited); at most `cap`."""
        chunks, size = [], 0
        while True:
            event = await self.next_event(wait_s)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > cap:
                    raise httpx.ReadError(f"response body over {cap} bytes")
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return b"".join(chunks)

    async def _send(self, data: bytes, wait_s: float | None) -> None:
        """Write `data`; waits (at most `wait_s`) only while the send buffer is full."""
        if self.transport is None or self.transport.is_closing() or self._eof:
            raise httpx.WriteError("connection closed")
        self.transport.write(data)
        if self._drained is not None:
            try:
                await _wait(self._drained, wait_s)
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
                if self._error is not None and not self._heard:
                    raise httpx.ReadError(str(self._error))
                # A reset after some bytes (a non-HTTP server that hangs up on our request) is
                # an end of input: h11 says whether the answer was complete or not HTTP.
                self.h11.receive_data(b"")
            else:
                await self._await_bytes(wait_s)

    async def _await_bytes(self, wait_s: float | None) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await _wait(self._waiter, wait_s)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("no answer in time") from exc
        finally:
            self._waiter = None

    def close(self) -> None:
        """Close without waiting for the peer (no TLS close_notify exchange)."""
        if self.transport is not None:
            self.transport.abort()


async def _frame(conn: h11.Connection, request: httpx.Request) -> bytes:
    """The request's bytes: head, body, end of message."""
    body = await request.aread()
    try:
        head = h11.Request(
            method=request.method, target=request.url.raw_path, headers=request.headers.raw
        )
        data = conn.send(head) or b""
        if body:
            data += conn.send(h11.Data(data=body)) or b""
        return data + (conn.send(h11.EndOfMessage()) or b"")
    except h11.LocalProtocolError:
        # Our own request cannot be framed (e.g. a header value with a line break); no byte
        # was sent. h11's message quotes the offending value, which may be a key, so it is not
        # passed on. An httpx error, so callers classify it; it never escapes as h11's.
        raise httpx.LocalProtocolError("request cannot be framed (illegal header)") from None


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


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())

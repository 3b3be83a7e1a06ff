"""An httpx transport that opens one new connection per request and closes it after.

A prober wants exactly that (evidence of reachability, not of a pooled socket), so the pool,
its locks and keep-alive bookkeeping of the default transport are pure cost: about a
millisecond of CPU per probe on the benchmark machine (see bench/README.md). HTTP/1.1
framing is h11's (the same state machine httpcore uses); this module only moves bytes and
maps failures onto httpx's exceptions, so the client, auth, redirects and `Response` behave
as with any other transport.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import anyio.abc
import h11
import httpx
from anyio.streams.tls import TLSAttribute

_READ = 65536


class _NetworkStream:
    """What `response.extensions["network_stream"]` offers: the TLS object, if any."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream

    def get_extra_info(self, name: str) -> Any:
        """`ssl_object` of a TLS connection (None for plain TCP), like httpcore's streams."""
        if name == "ssl_object":
            return self._stream.extra(TLSAttribute.ssl_object, None)  # noqa: S610 - anyio
        return None


class _Body(httpx.AsyncByteStream):
    """The response body read from the connection; closing it closes the connection."""

    def __init__(self, conn: h11.Connection, stream: anyio.abc.ByteStream, timeout: float) -> None:
        self._conn, self._stream, self._timeout = conn, stream, timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """Yield body chunks until the end of the message."""
        while True:
            event = await _next_event(self._conn, self._stream, self._timeout)
            if not isinstance(event, h11.Data):
                return  # EndOfMessage, ConnectionClosed (or PAUSED): the body is complete
            yield bytes(event.data)

    async def aclose(self) -> None:
        """Close the connection without waiting for the peer (it is never reused)."""
        await _close(self._stream)


async def _close(stream: anyio.abc.ByteStream) -> None:
    # A TLS close would wait for the peer's close_notify; a plain socket closes at once.
    if stream.extra(TLSAttribute.ssl_object, None) is None:  # noqa: S610 - anyio, not Django
        await stream.aclose()
    else:
        await anyio.aclose_forcefully(stream)


async def _next_event(
    conn: h11.Connection, stream: anyio.abc.ByteStream, timeout: float | None
) -> Any:
    """The next h11 event, reading as needed; `timeout` per read (None: the caller's scope)."""
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc)) from exc
        if event is not h11.NEED_DATA:
            return event
        try:
            with anyio.fail_after(timeout):
                data = await stream.receive(_READ)
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            data = b""
        except TimeoutError as exc:
            raise httpx.ReadTimeout("no answer in time") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from exc
        conn.receive_data(data)


async def _response_head(conn: h11.Connection, stream: anyio.abc.ByteStream) -> h11.Response:
    event = await _next_event(conn, stream, None)
    while isinstance(event, h11.InformationalResponse):
        event = await _next_event(conn, stream, None)
    if not isinstance(event, h11.Response):
        raise httpx.RemoteProtocolError("connection closed before a response")
    return event


class FreshConnectionTransport(httpx.AsyncBaseTransport):
    """One TCP (and TLS) connection per request; `timeout` bounds connect and each read."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        timeout: float,
        *,
        connect_to: Mapping[str, str] | None = None,
    ) -> None:
        """Use `ssl_context` for https URLs; `timeout` seconds for connect and each read.

        `connect_to` maps a host name to the address to connect to instead of resolving it
        (like curl's `--resolve`); the Host header and TLS server name (SNI, certificate
        check) stay the URL's host. Other hosts (a redirect elsewhere) resolve as usual.
        """
        self._ssl, self._timeout = ssl_context, timeout
        self._connect_to: Mapping[str, str] = connect_to or {}

    async def _connect(self, url: httpx.URL) -> anyio.abc.ByteStream:
        https = url.scheme == "https"
        port = url.port or (443 if https else 80)
        host = self._connect_to.get(url.host, url.host)
        try:
            if https:
                return await anyio.connect_tcp(
                    host, port, ssl_context=self._ssl, tls_hostname=url.host
                )
            return await anyio.connect_tcp(host, port)
        except (OSError, ssl.SSLError, anyio.BrokenResourceError) as exc:
            raise httpx.ConnectError(str(exc)) from exc

    async def _exchange(
        self, stream: anyio.abc.ByteStream, request: httpx.Request
    ) -> tuple[h11.Connection, h11.Response]:
        conn = h11.Connection(h11.CLIENT)
        head = h11.Request(
            method=request.method, target=request.url.raw_path, headers=request.headers.raw
        )
        body = await request.aread()
        data = conn.send(head) + (conn.send(h11.Data(data=body)) if body else b"")
        try:
            await stream.send(data + conn.send(h11.EndOfMessage()))
        except (OSError, anyio.BrokenResourceError) as exc:
            raise httpx.WriteError(str(exc)) from exc
        return conn, await _response_head(conn, stream)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Connect, send, read the status line and headers in one timeout; body streams later."""
        stream: anyio.abc.ByteStream | None = None
        try:
            # One deadline for connect + send + head: a cancel scope per step costs CPU.
            with anyio.fail_after(self._timeout):
                stream = await self._connect(request.url)
                conn, event = await self._exchange(stream, request)
        except BaseException as exc:
            if stream is not None:
                await _close(stream)
            if isinstance(exc, TimeoutError):
                kind = httpx.ConnectTimeout if stream is None else httpx.ReadTimeout
                raise kind("no answer in time") from exc
            raise
        return httpx.Response(
            status_code=event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(conn, stream, self._timeout),
            extensions={"network_stream": _NetworkStream(stream), "http_version": b"HTTP/1.1"},
        )

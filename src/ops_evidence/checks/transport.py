"""The probes' httpx transport: one new connection per request, closed after it.

A prober wants exactly that (evidence of reachability, not of a pooled socket), so the pool,
its locks and keep-alive bookkeeping of httpx's default transport are pure cost even with
keep-alive off. With sniffio installed, `bench/probes.py --transport httpx` (httpcore, no
keep-alive) against this transport, three runs each, alternating, 2026-12-03: 2.88 against
2.10 ms of CPU per probe (medians), 1.58 against 1.13 times blackbox_exporter's in the same
runs. The connection is `http/connection.py`'s (h11 framing, the same state machine httpcore
uses); this module only streams the body and maps a timeout onto the right httpx exception,
so the client, auth, redirects and `Response` behave as with any other transport. The body
is streamed: `checks/http.py` reads at most its cap (`max_body_bytes`) and then closes the
connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import h11
import httpx

from ops_evidence.http.connection import Connection


class _NetworkStream:
    """What `response.extensions["network_stream"]` offers: the TLS object, if any."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_extra_info(self, name: str) -> Any:
        """`ssl_object` of a TLS connection (None for plain TCP), like httpcore's streams."""
        return self._conn.ssl_object() if name == "ssl_object" else None


class _Body(httpx.AsyncByteStream):
    """The response body read from the connection; closing it closes the connection."""

    def __init__(self, conn: Connection, timeout: float) -> None:
        self._conn, self._timeout = conn, timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """Yield body chunks until the end of the message."""
        while True:
            event = await self._conn.next_event(self._timeout)
            if not isinstance(event, h11.Data):
                return  # EndOfMessage, ConnectionClosed (or PAUSED): the body is complete
            yield bytes(event.data)

    async def aclose(self) -> None:
        """Close the connection without waiting for the peer (it is never reused)."""
        self._conn.close()


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
        (like curl's `--resolve`): the per-address probe's pin. Host header, SNI and the
        certificate check keep the name.
        """
        self._ssl, self._timeout = ssl_context, timeout
        self._connect_to: Mapping[str, str] = connect_to or {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Connect, send, read the status line and headers in one timeout; body streams later."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        address = self._connect_to.get(request.url.host)
        conn = await Connection.open(request.url, self._ssl, self._timeout, address)
        try:
            # One deadline for connect + send + head: what is left of it after the connect.
            left = max(0.0, deadline - loop.time())
            head = await conn.exchange(request, {"write": left, "read": left})
        except BaseException:
            conn.close()
            raise
        return httpx.Response(
            status_code=head.status_code,
            headers=head.headers.raw_items(),
            stream=_Body(conn, self._timeout),
            extensions={"network_stream": _NetworkStream(conn), "http_version": b"HTTP/1.1"},
        )

"""The sinks' HTTP/1.1 keep-alive transport: idle connections reused per origin, bounded.

Why not httpx's default transport: httpcore's pool costs CPU per request that grows with
concurrency (it re-checks every pooled connection, through several layers, on each request),
while a delivery needs only "reuse an idle connection to this origin, or open one". With
sniffio installed, `bench/delivery.py --transport httpx` (the drain on httpcore's pool, the
rest as the sinks send) against this transport, three runs each, alternating, 2026-12-03: a
drain of 329 against 727 events/s (medians), 0.23 against 0.55 of wrk's rate in the same
runs. The connection itself is `http/connection.py`'s.

Semantics the sinks rely on are kept: failures map onto httpx's exceptions, and only
`ConnectError`/`ConnectTimeout`/`PoolTimeout` mean "the request surely never left" (see
`classify_exception`). An idle connection is checked before reuse (a peer that closed it is
readable at EOF) so a stale socket is dropped instead of eating a request. A free connection
slot is taken without a timeout scope, and a response's body is read (up to
`connection.MAX_BODY`) before it is returned: no stream layers, and the connection is back in
the pool at once.
"""

from __future__ import annotations

import ssl

import anyio
import h11
import httpx

from ops_evidence.http.connection import MAX_BODY, Connection

Origin = tuple[str, str, int]


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """At most `max_connections` connections in all; idle ones are reused per origin."""

    def __init__(
        self, ssl_context: ssl.SSLContext, max_connections: int = 32, max_body: int = MAX_BODY
    ) -> None:
        self._ssl, self._max_body = ssl_context, max_body
        self._slots = anyio.CapacityLimiter(max_connections)
        self._idle: dict[Origin, list[Connection]] = {}

    async def _checkout(self, url: httpx.URL, origin: Origin, wait_s: float | None) -> Connection:
        idle = self._idle.get(origin, [])
        while idle:
            conn = idle.pop()
            if conn.reusable():
                return conn
            conn.close()
        return await Connection.open(url, self._ssl, wait_s)

    def _checkin(self, origin: Origin, conn: Connection) -> bool:
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
            conn = await self._checkout(url, origin, timeouts.get("connect"))
            try:
                head = await conn.exchange(request, timeouts)
                body = await conn.read_body(timeouts.get("read"), self._max_body)
            except BaseException:
                conn.close()
                raise
            if not self._checkin(origin, conn):
                conn.close()
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

    async def aclose(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

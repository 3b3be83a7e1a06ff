"""Real loopback servers for tests: `serve_asgi(app)` runs uvicorn in a thread;
`serve_listener(routes)` runs the service's own listener in the test's event loop.

Usage::

    with serve_asgi(create_app()) as base_url:   # e.g. "http://127.0.0.1:41873"
        httpx.get(base_url + "/state/health")

The server binds 127.0.0.1 on a free port chosen by the kernel (port 0), signals readiness
through an event set after uvicorn's startup (no polling sleeps), and shuts down cleanly
when the block exits.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from ops_evidence.http.listener import Handler, Listener, bind

STARTUP_DEADLINE = 10.0
SHUTDOWN_DEADLINE = 10.0


class _Server(uvicorn.Server):
    """uvicorn.Server that reports readiness and its bound port."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.port = 0

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.port = self.servers[0].sockets[0].getsockname()[1]
        self.ready.set()

    def run_in_thread(self) -> None:
        """Run until told to exit; readiness is signalled even if startup fails."""
        try:
            self.run()
        finally:
            self.ready.set()


@contextmanager
def serve_asgi(app: ASGIApp, *, log_level: str = "warning", **options: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (free port) in a thread; yields the base URL.

    `options` go to uvicorn.Config (e.g. `ssl_certfile`/`ssl_keyfile` for https).
    """
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level=log_level,
        lifespan="off",
        access_log=False,
        **options,
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run_in_thread, name="serve_asgi", daemon=True)
    thread.start()
    try:
        if not server.ready.wait(STARTUP_DEADLINE) or not server.started:
            raise RuntimeError("uvicorn did not start on 127.0.0.1 within the deadline")
        scheme = "https" if options.get("ssl_certfile") else "http"
        yield f"{scheme}://127.0.0.1:{server.port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_DEADLINE)
        if thread.is_alive():
            raise RuntimeError("uvicorn did not stop within the deadline")


@asynccontextmanager
async def serve_listener(
    routes: Mapping[str, Handler] | Listener, *, stop: anyio.Event | None = None, **options: Any
) -> AsyncIterator[str]:
    """The service's listener (or `routes` in a new one, `options` to `Listener`) on
    127.0.0.1, free port, in this event loop; yields its base URL. It stops when the block
    exits, or earlier when the caller sets `stop`."""
    listener = routes if isinstance(routes, Listener) else Listener(routes, **options)
    sock = bind("127.0.0.1:0")  # listening already: no race with the first request
    stop = stop or anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, sock, stop)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            stop.set()


async def client_port_app(scope: Scope, receive: Receive, send: Send) -> None:
    """An ASGI app answering the client's source port as text: two requests answered with
    the same port came over one connection."""
    await receive()
    port = str(scope["client"][1]).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": port})

"""Run an ASGI app with uvicorn inside a caller's event loop and task group (the demo's
emulator and targets; the service's own listener is `http.listener`, without uvicorn)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from ops_evidence.http.listener import split_listen


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the caller owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signals to the caller."""
        yield


def embedded_server(app: ASGIApp, listen: str) -> EmbeddedServer:
    """A quiet uvicorn server for `app` on HOST:PORT (logging is ours, not uvicorn's)."""
    host, port = split_listen(listen)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        log_level="warning",
    )
    return EmbeddedServer(config)

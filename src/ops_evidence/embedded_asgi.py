"""Run an ASGI app with uvicorn inside the service's own event loop and task group."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from ops_evidence.errors import UnavailableError


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the service owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signals to the service."""
        yield


def split_listen(listen: str) -> tuple[str, int]:
    """`127.0.0.1:9108` or `[::1]:9108` -> (host, port)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def bind(listen: str, what: str = "OPS_EVIDENCE_LISTEN") -> socket.socket:
    """The listening socket for HOST:PORT, bound before anything reports ready, so a port in
    use is one clear error (exit 69) rather than uvicorn's log line and exit 3 mid-start."""
    host, port = split_listen(listen)
    sock: socket.socket | None = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise UnavailableError(f"{what}: cannot listen on {listen}: {exc.strerror}") from None
    return sock


def embedded_server(app: ASGIApp, listen: str) -> EmbeddedServer:
    """A quiet uvicorn server for `app` on HOST:PORT (logging is ours, not uvicorn's)."""
    host, port = split_listen(listen)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off",
        log_level="warning",
    )  # fmt: skip
    return EmbeddedServer(config)


def bound_port(server: uvicorn.Server) -> int | None:
    """The port actually bound (useful with port 0), once started."""
    for srv in getattr(server, "servers", []):
        for sock in srv.sockets:
            return int(sock.getsockname()[1])
    return None

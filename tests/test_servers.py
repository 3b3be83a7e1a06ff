"""The loopback server helper other tests rely on: starts on 127.0.0.1, stops cleanly."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.servers import serve_asgi


def _app() -> Starlette:
    async def hello(_: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    return Starlette(routes=[Route("/", hello)])


def test_serves_on_loopback_then_releases_the_port() -> None:
    """Inside the block the app answers on 127.0.0.1; after it, the port refuses connections."""
    with serve_asgi(_app()) as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url).text == "hello"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_two_servers_get_distinct_ports() -> None:
    """Port 0 lets the kernel choose, so servers can run side by side."""
    with serve_asgi(_app()) as first, serve_asgi(_app()) as second:
        assert first != second
        assert httpx.get(second).status_code == 200

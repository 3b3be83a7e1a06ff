"""An InterHubClient on a fresh emulator, in-process or over loopback HTTP (the rollout
tests and the client's own tests use it through their `hub_on` fixtures)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from ops_evidence.delivery.sinks.inter_hub_client import InterHubClient
from tests.emulator.conftest import KEY
from tests.servers import serve_asgi

# ASGITransport never opens a socket; a loopback base URL keeps the key-transport rule honest.
ASGI_BASE = "http://127.0.0.1"

HubOn = Callable[..., AbstractAsyncContextManager[InterHubClient]]


@asynccontextmanager
async def hub_client(app: Starlette, mode: str, key: str = KEY) -> AsyncIterator[InterHubClient]:
    """An InterHubClient on `app` through ASGITransport or a real loopback server."""
    if mode == "asgi":
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            yield InterHubClient(client, ASGI_BASE, SecretStr(key))
        return
    with serve_asgi(app) as base_url:
        async with httpx.AsyncClient(timeout=10) as client:
            yield InterHubClient(client, base_url, SecretStr(key))


@pytest.fixture(params=["asgi", "loopback"])
def mode(request: pytest.FixtureRequest) -> str:
    """How the client reaches the emulator: in-process or over real loopback HTTP."""
    param: str = request.param
    return param


@pytest.fixture
def hub_on(mode: str) -> HubOn:
    """Factory: `async with hub_on(app) as hub` (optionally with another key)."""

    def factory(app: Starlette, key: str = KEY) -> AbstractAsyncContextManager[InterHubClient]:
        return hub_client(app, mode, key)

    return factory

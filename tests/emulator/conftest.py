"""Emulator fixtures: every contract test runs in-process and against a loopback server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from ops_evidence.emulator import EmulatorConfig, create_app
from ops_evidence.emulator.config import ConsumerConfig
from tests.servers import serve_asgi

KEY = "emulator-test-key-bound"
UNBOUND_KEY = "emulator-test-key-unbound"
REVOKED_KEY = "emulator-test-key-revoked"
ASGI_BASE = "http://emulator.test"

Connect = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def hub_config(**overrides: Any) -> EmulatorConfig:
    """The default ops-hub config with three known consumers: bound, unbound, revoked."""
    consumers = (
        ConsumerConfig(name="ops-evidence", key=SecretStr(KEY)),
        ConsumerConfig(name="unbound", key=SecretStr(UNBOUND_KEY), bound_to_manifest=False),
        ConsumerConfig(name="revoked", key=SecretStr(REVOKED_KEY), allowed=False),
    )
    return EmulatorConfig(consumers=consumers, **overrides)


def auth(key: str = KEY) -> dict[str, str]:
    """The bearer header for `key`."""
    return {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def open_client(app: Starlette, mode: str) -> AsyncIterator[httpx.AsyncClient]:
    """An AsyncClient on `app`: through ASGITransport, or over HTTP to a loopback server."""
    if mode == "asgi":
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ASGI_BASE) as client:
            yield client
        return
    with serve_asgi(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            yield client


@pytest.fixture(params=["asgi", "loopback"])
def mode(request: pytest.FixtureRequest) -> str:
    """How the test reaches the emulator: in-process or over real loopback HTTP."""
    param: str = request.param
    return param


@pytest.fixture
def connect(mode: str) -> Connect:
    """Factory: `async with connect(config) as client` on a fresh emulator."""

    def factory(config: EmulatorConfig | None = None, **kwargs: Any) -> Any:
        return open_client(create_app(config or hub_config(), **kwargs), mode)

    return factory


@pytest.fixture
async def client(connect: Connect) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a fresh emulator with the test config."""
    async with connect() as c:
        yield c

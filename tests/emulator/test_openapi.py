"""The OpenAPI document validates and lists exactly the served /api/v2 routes."""

from __future__ import annotations

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from ops_evidence.emulator import create_app
from ops_evidence.emulator.config import EmulatorConfig
from tests.emulator.conftest import hub_config

pytestmark = pytest.mark.anyio


async def test_document_validates_and_is_public(client: httpx.AsyncClient) -> None:
    """GET /api/v2/openapi.json needs no key and is a valid OpenAPI 3.1 document."""
    response = await client.get("/api/v2/openapi.json")
    assert response.status_code == 200
    validate(response.json())


def _served(config: EmulatorConfig) -> set[tuple[str, str]]:
    app = create_app(config)
    return {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/api/v2/")
        for method in route.methods or ()
        if method != "HEAD"
    }


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
async def test_document_lists_every_served_path(header: str) -> None:
    """Every served (path, method) under /api/v2 is documented, and nothing else."""
    config = hub_config(
        auth_header=header, auth_scheme="" if header != "Authorization" else "Bearer"
    )
    app = create_app(config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        document = (await c.get("/api/v2/openapi.json")).json()
    validate(document)
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert documented == _served(config)
    scheme = document["components"]["securitySchemes"]["apiKey"]
    assert scheme.get("name", "Authorization") == header

"""State Hub contract: health, idempotent progress, listing by event type with a limit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ops_evidence.events.wire import progress_body
from tests.factories import endpoint_event

pytestmark = pytest.mark.anyio


async def test_health(client: httpx.AsyncClient) -> None:
    """GET /state/health answers 200 ok."""
    response = await client.get("/state/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_progress_is_idempotent_by_key(client: httpx.AsyncClient) -> None:
    """The sink's body twice: 201 then 200 with the original record; one record stored."""
    body = progress_body(endpoint_event(), status="missing_widget_mapping", reason="no widget")
    first = await client.post("/progress/", json=body)
    second = await client.post("/progress/", json={**body, "summary": "changed"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert first.json()["detail"] == body["detail"]
    assert first.json()["idempotency_key"] == body["idempotency_key"]
    assert len((await client.get("/_emulator/progress")).json()) == 1


async def test_progress_list_filters_and_limits(client: httpx.AsyncClient) -> None:
    """GET /progress/ lists newest first, filtered by event_type, at most `limit`."""
    for n in range(3):
        await client.post(
            "/progress/", json={"event_type": "ops_inventory_probe", "idempotency_key": f"k{n}"}
        )
    await client.post("/progress/", json={"event_type": "other", "idempotency_key": "x"})
    listed = (
        await client.get("/progress/", params={"event_type": "ops_inventory_probe", "limit": 2})
    ).json()
    assert [r["idempotency_key"] for r in listed] == ["k2", "k1"]
    assert (await client.get("/progress/", params={"event_type": "none"})).json() == []


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 422), ({"event_type": 3}, 422), ({"event_type": "x", "detail": "s"}, 422), ([1], 422)],
)
async def test_progress_rules(client: httpx.AsyncClient, body: Any, status: int) -> None:
    """event_type is required, detail an object, the body a JSON object: else 422 with detail."""
    response = await client.post("/progress/", json=body)
    assert response.status_code == status
    assert response.json()["detail"]


@pytest.mark.parametrize("limit", ["0", "x", "1001"])
async def test_progress_bad_limit(client: httpx.AsyncClient, limit: str) -> None:
    """limit must be an integer from 1 to 1000."""
    assert (await client.get("/progress/", params={"limit": limit})).status_code == 422

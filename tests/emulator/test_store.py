"""Storage: in memory by default; a SQLite file keeps everything across a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ops_evidence.emulator import create_app
from ops_evidence.events.vocabulary import EVENT_TYPES
from tests.emulator.conftest import Connect, auth, hub_config
from tests.emulator.test_inter_hub import EVENTS, event

pytestmark = pytest.mark.anyio


async def test_sqlite_file_survives_restart(connect: Connect, tmp_path: Path) -> None:
    """Events and progress stored in a file are there for the next emulator; seeds not doubled."""
    config = hub_config(storage=tmp_path / "emulator.db")
    async with connect(config) as client:
        assert (await client.post(EVENTS, json=event(), headers=auth())).status_code == 201
        await client.post("/progress/", json={"event_type": "x", "idempotency_key": "k"})
    async with connect(config) as client:
        counts = (await client.get("/_emulator/counts")).json()
        assert (counts["interaction_events"], counts["progress"], counts["widgets"]) == (
            1,
            1,
            len(EVENT_TYPES),
        )
        again = await client.post("/progress/", json={"event_type": "x", "idempotency_key": "k"})
        assert again.status_code == 200


async def test_memory_store_is_per_app() -> None:
    """Two in-memory emulators do not share records."""
    apps = [create_app(hub_config()), create_app(hub_config())]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t") for a in apps
    ]
    async with clients[0] as first, clients[1] as second:
        await first.post(EVENTS, json=event(), headers=auth())
        assert (await second.get("/_emulator/counts")).json()["interaction_events"] == 0


async def test_reset_forgets_and_reseeds(client: httpx.AsyncClient) -> None:
    """POST /_emulator/reset empties events and progress and restores the seed widgets."""
    await client.post(EVENTS, json=event(), headers=auth())
    await client.post(
        "/api/v2/widgets",
        headers=auth(),
        json={"hubId": "ops-hub", "name": "n", "widgetType": "ops-drift-card"},
    )
    counts = (await client.post("/_emulator/reset")).json()
    assert (counts["interaction_events"], counts["widgets"], counts["progress"]) == (
        0,
        len(EVENT_TYPES),
        0,
    )

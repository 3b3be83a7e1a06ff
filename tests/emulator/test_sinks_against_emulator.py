"""The real sinks against the emulator: bodies accepted, read-back after a reset, idempotency."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.inter_hub import InterHubSink
from ops_evidence.delivery.sinks.inter_hub_client import InterHubClient
from ops_evidence.delivery.sinks.state_hub import StateHubSink
from ops_evidence.emulator import create_app
from ops_evidence.emulator.config import PROFILES, FaultConfig
from ops_evidence.events.wire import canonical_json, interaction_event_body, progress_body
from tests.emulator.conftest import KEY, hub_config, open_client
from tests.factories import endpoint_event

pytestmark = pytest.mark.anyio
WIDGET = "widget-ops-endpoint-verified"


def _delivery(sink: str, *, ambiguous: bool = False, event_type: str = "") -> Delivery:
    event = endpoint_event()
    if sink == "inter-hub":
        body_json = interaction_event_body(event, WIDGET)
        body_json["eventType"] = event_type or body_json["eventType"]
        body = canonical_json(body_json)
    else:
        body = canonical_json(progress_body(event, status="missing_widget_mapping"))
    return Delivery(
        event.idempotency_key,
        sink,
        "pending",
        0,
        0.0,
        body,
        WIDGET,
        event_type or event.event_type,
        event.context_key,
        0.0,
        0.0,
        ambiguous=ambiguous,
    )


def _connect(mode: str, faults: FaultConfig | None = None, profile: str = "friendly") -> Any:
    targets = ("POST /api/v2/interaction-events",)
    faults = (faults or FaultConfig()).model_copy(update={"targets": targets})
    return open_client(create_app(hub_config(faults=faults, profile=profile)), mode)


def _sink(client: httpx.AsyncClient) -> InterHubSink:
    # The in-process base URL is not loopback; no real key crosses a network there.
    return InterHubSink(
        InterHubClient(client, str(client.base_url), SecretStr(KEY), allow_insecure_http=True)
    )


async def _events(client: httpx.AsyncClient) -> int:
    total: int = (await client.get("/_emulator/counts")).json()["interaction_events"]
    return total


@pytest.mark.parametrize("profile", tuple(PROFILES))
async def test_ambiguous_post_then_read_back_is_a_duplicate(mode: str, profile: str) -> None:
    """After a reset-after-commit, the sink's read-back finds the event: one stored, not two."""
    async with _connect(mode, FaultConfig(reset_after_commit=1.0), profile) as client:
        sink = _sink(client)
        delivery = _delivery("inter-hub")
        first = await sink.send(delivery)
        assert (first.kind, first.ambiguous) == ("transient", True)
        second = await sink.send(_delivery_like(delivery, ambiguous=True))
        assert second.kind == "duplicate"
        assert await _events(client) == 1


async def test_delivered_then_undeclared(mode: str) -> None:
    """A declared type is delivered; an undeclared one reads as `undeclared` (422) to the sink."""
    async with _connect(mode) as client:
        sink = _sink(client)
        assert (await sink.send(_delivery("inter-hub"))).kind == "delivered"
        attempt = await sink.send(_delivery("inter-hub", event_type="ops-risk-raised"))
        assert (attempt.kind, attempt.http_status) == ("undeclared", 422)
        assert await _events(client) == 1


async def test_state_hub_sink_is_idempotent(mode: str) -> None:
    """The State Hub sink's body twice is delivered twice and recorded once."""
    async with _connect(mode) as client:
        sink = StateHubSink(client, str(client.base_url))
        delivery = _delivery("state-hub")
        kinds = [(await sink.send(delivery)).kind for _ in range(2)]
        assert kinds == ["delivered", "delivered"]
        assert (await client.get("/_emulator/counts")).json()["progress"] == 1


def _delivery_like(delivery: Delivery, *, ambiguous: bool) -> Delivery:
    return Delivery(
        delivery.key,
        delivery.sink,
        delivery.status,
        1,
        0.0,
        delivery.body,
        delivery.widget_id,
        delivery.event_type,
        delivery.context_key,
        0.0,
        0.0,
        ambiguous=ambiguous,
    )

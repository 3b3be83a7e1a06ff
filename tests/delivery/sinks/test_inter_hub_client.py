"""The Inter-Hub client (sink and rollout tools): key transport, config errors, paging, 429, outages."""

from __future__ import annotations

from dataclasses import replace

import anyio
import httpx
import pytest
from pydantic import SecretStr

from ops_evidence.config.settings import load_settings
from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.inter_hub import InterHubSink
from ops_evidence.delivery.sinks.inter_hub_client import HubRefused, InterHubClient
from ops_evidence.emulator import create_app
from ops_evidence.emulator.config import PROFILES, RateLimitConfig, SeedWidget
from ops_evidence.errors import ConfigError, UnavailableError
from ops_evidence.events.wire import canonical_json, interaction_event_body
from tests.emulator.conftest import KEY, hub_config
from tests.factories import endpoint_event
from tests.inter_hub_clients import HubOn

pytestmark = pytest.mark.anyio


def many_widgets(count: int) -> tuple[SeedWidget, ...]:
    """`count` seed widgets with predictable ids."""
    return tuple(
        SeedWidget(id=f"w{n:04d}", name=f"filler-{n}", widget_type="ops-endpoint-card")
        for n in range(count)
    )


async def test_list_all_reads_every_page(hub_on: HubOn) -> None:
    """list_all follows meta.hasMore past the server's page-size clamp to the last widget."""
    app = create_app(hub_config(seed_widgets=many_widgets(23), max_page_size=5))
    async with hub_on(app) as hub:
        widgets = await hub.list_all("/widgets")
    assert [w["id"] for w in widgets] == [f"w{n:04d}" for n in range(23)]


@pytest.mark.parametrize("profile", tuple(PROFILES))
async def test_list_all_reads_every_page_in_every_list_style(hub_on: HubOn, profile: str) -> None:
    """list_all learns each profile's pagination from the answers and reads every widget."""
    app = create_app(hub_config(seed_widgets=many_widgets(47), profile=profile))
    async with hub_on(app) as hub:
        widgets = await hub.list_all("/widgets")
    assert sorted(w["id"] for w in widgets) == [f"w{n:04d}" for n in range(47)]


async def test_list_all_raises_hub_refused_with_a_redacted_reason(hub_on: HubOn) -> None:
    """A refused list raises HubRefused carrying the status, never the key."""
    app = create_app(hub_config())
    async with hub_on(app, key="wrong-key-canary-55aa") as hub:
        with pytest.raises(HubRefused) as caught:
            await hub.list_all("/widgets")
    assert caught.value.status == 401
    assert "wrong-key-canary-55aa" not in str(caught.value)


async def test_rate_limited_reads_are_waited_out() -> None:
    """A 429 on a read is retried after Retry-After (via the injected sleep)."""
    app = create_app(hub_config(read_rate_limit=RateLimitConfig(requests=1, window_seconds=0.05)))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await anyio.sleep(0.06)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        hub = InterHubClient(
            client, "http://127.0.0.1", SecretStr("emulator-test-key-bound"), sleep=sleep
        )
        first = await hub.get("/widgets")
        second = await hub.get("/widgets")
    assert (first.status_code, second.status_code) == (200, 200)
    assert slept == [1.0]


def test_plain_http_to_a_remote_host_is_refused() -> None:
    """The key is never sent over http:// to a non-loopback host unless explicitly allowed."""
    with pytest.raises(ConfigError, match="plain http"):
        InterHubClient(httpx.AsyncClient(), "http://hub.example.org", SecretStr("k" * 12))


def test_missing_settings_name_the_variables() -> None:
    """from_settings without INTER_HUB_URL and OPS_HUB_KEY is a ConfigError naming both."""
    with pytest.raises(ConfigError) as caught:
        InterHubClient.from_settings(load_settings(), httpx.AsyncClient())
    assert "INTER_HUB_URL is not set" in caught.value.render()
    assert "OPS_HUB_KEY is not set" in caught.value.render()


async def test_unreachable_hub_is_unavailable() -> None:
    """A connection error becomes UnavailableError (exit 69) naming the request, not the key."""
    async with httpx.AsyncClient(timeout=2) as client:
        hub = InterHubClient(client, "http://127.0.0.1:9", SecretStr("canary-key-unreach"))
        with pytest.raises(UnavailableError) as caught:
            await hub.get("/openapi.json")
    assert "unreachable" in caught.value.message
    assert "canary-key-unreach" not in caught.value.message


async def test_the_sink_and_the_rollout_tools_authenticate_through_one_client() -> None:
    """A hub that takes the bare key in `X-Api-Key`: configured once, the same header is on
    the sink's post, on its read-back's list reads, and on the rollout tools' list; the
    default `Authorization: Bearer` is refused there (so the configuration is what is used)."""
    app = create_app(hub_config(auth_header="X-Api-Key", auth_scheme="", profile="minimal"))
    event = endpoint_event()
    widget = "widget-ops-endpoint-verified"
    body = canonical_json(interaction_event_body(event, widget))
    delivery = Delivery(
        event.idempotency_key,
        "inter-hub",
        "pending",
        0,
        0.0,
        body,
        widget,
        event.event_type,
        event.context_key,
        0.0,
        0.0,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        sink = InterHubSink(
            InterHubClient(
                client, "http://127.0.0.1", SecretStr(KEY), auth_header="X-Api-Key", auth_scheme=""
            )
        )
        assert (await sink.send(delivery)).kind == "delivered"
        again = replace(delivery, ambiguous=True, first_attempt_at=0.0)
        assert (await sink.send(again)).kind == "duplicate"  # read back, found, not re-posted
        tools = InterHubClient(
            client, "http://127.0.0.1", SecretStr(KEY), auth_header="X-Api-Key", auth_scheme=""
        )
        assert await tools.list_all("/widgets")
        default = InterHubClient(client, "http://127.0.0.1", SecretStr(KEY))
        with pytest.raises(HubRefused) as caught:
            await default.list_all("/widgets")
    assert caught.value.status == 401

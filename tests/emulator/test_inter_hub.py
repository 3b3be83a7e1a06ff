"""Inter-Hub `/api/v2` contract: auth, widgets, interaction events, pagination, rate limit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ops_evidence.emulator.config import RateLimitConfig
from ops_evidence.events.vocabulary import EVENT_TYPES, POLICY_SCOPE
from tests.emulator.conftest import KEY, REVOKED_KEY, UNBOUND_KEY, Connect, auth, hub_config

pytestmark = pytest.mark.anyio
EVENTS = "/api/v2/interaction-events"
WIDGETS = "/api/v2/widgets"
WIDGET = "widget-ops-endpoint-verified"


def event(**fields: Any) -> dict[str, Any]:
    """A valid interaction event body, with `fields` overriding."""
    body: dict[str, Any] = {
        "widgetId": WIDGET,
        "eventType": "ops-endpoint-verified",
        "metadata": {"idempotencyKey": "k1", "attributes": {"verified": True}},
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


async def post_event(client: httpx.AsyncClient, key: str = KEY, **fields: Any) -> httpx.Response:
    """POST one event body."""
    return await client.post(EVENTS, json=event(**fields), headers=auth(key))


async def stored_events(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every stored event, via the admin inspection endpoint."""
    data: list[dict[str, Any]] = (await client.get("/_emulator/events")).json()["data"]
    return data


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": f"Basic {KEY}"}, 401),
        (auth(REVOKED_KEY), 403),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"), [("GET", WIDGETS), ("POST", WIDGETS), ("GET", EVENTS), ("POST", EVENTS)]
)
async def test_auth_failures(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    """A missing, unknown or wrongly schemed key is 401; a key not allowed is 403."""
    response = await client.request(method, path, json=event(), headers=headers)
    assert response.status_code == status
    assert response.json()["error"] in ("unauthorized", "forbidden")
    assert "nope" not in response.text
    assert await stored_events(client) == []


async def test_event_is_stored_as_the_seeds_say(client: httpx.AsyncClient) -> None:
    """occurredAt is server-set, viewContext becomes viewContextRef, actorType is api."""
    response = await post_event(client, viewContext="apps/wp-1", occurredAt="1999-01-01T00:00:00Z")
    assert response.status_code == 201
    stored = response.json()["data"]
    assert stored["actorType"] == "api"
    assert stored["viewContextRef"] == "apps/wp-1"
    assert "viewContext" not in stored
    assert stored["occurredAt"].startswith("20")
    assert stored["metadata"] == event()["metadata"]
    assert await stored_events(client) == [stored]


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"widgetId": None}, 400, "missing_field"),
        ({"eventType": None}, 400, "missing_field"),
        ({"widgetId": 7}, 400, "invalid_field"),
        ({"metadata": ["a"]}, 400, "invalid_metadata"),
        ({"metadata": "x"}, 400, "invalid_metadata"),
        ({"widgetId": "nope"}, 422, "unknown_widget"),
        ({"eventType": "ops-made-up"}, 422, "event_type_not_registered"),
        ({"eventType": "ops-risk-raised"}, 422, "event_type_not_declared"),
    ],
)
async def test_event_rules(
    client: httpx.AsyncClient, fields: dict[str, Any], status: int, code: str
) -> None:
    """Each rule answers its status with a JSON error body naming the problem; nothing stored."""
    response = await post_event(client, **fields)
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert response.json()["message"]
    assert await stored_events(client) == []


async def test_undeclared_type_message_names_the_manifest(client: httpx.AsyncClient) -> None:
    """The undeclared-type error says which type and which manifest (the sinks classify it)."""
    response = await post_event(client, eventType="ops-risk-raised")
    assert "'ops-risk-raised' is not declared by the active manifest 'ops-hub'" in response.text


async def test_unbound_consumer_may_send_registered_undeclared_type(
    client: httpx.AsyncClient,
) -> None:
    """A consumer not bound to the manifest is checked against the registry only."""
    assert (await post_event(client, UNBOUND_KEY, eventType="ops-risk-raised")).status_code == 201
    response = await post_event(client, UNBOUND_KEY, eventType="ops-made-up")
    assert response.status_code == 422


async def test_inactive_manifest_is_not_enforced(connect: Connect) -> None:
    """When the manifest is not active, a bound consumer is checked against the registry only."""
    config = hub_config()
    config = config.model_copy(
        update={"manifest": config.manifest.model_copy(update={"active": False})}
    )
    async with connect(config) as client:
        assert (await post_event(client, eventType="ops-risk-raised")).status_code == 201


async def test_every_declared_type_is_accepted(client: httpx.AsyncClient) -> None:
    """The default manifest declares the five ops event types of the vocabulary."""
    for event_type in EVENT_TYPES:
        response = await post_event(client, widgetId=f"widget-{event_type}", eventType=event_type)
        assert response.status_code == 201, response.text


async def test_non_json_body_is_rejected(client: httpx.AsyncClient) -> None:
    """A body that is not application/json is 415; malformed JSON is 400."""
    response = await client.post(EVENTS, content=b"x=1", headers=auth())
    assert response.status_code == 415
    headers = {**auth(), "Content-Type": "application/json"}
    response = await client.post(EVENTS, content=b"{nope", headers=headers)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_json")


async def test_duplicate_post_is_a_second_event(client: httpx.AsyncClient) -> None:
    """By default a repeated body and Idempotency-Key are stored again; admin counts duplicates."""
    headers = {**auth(), "Idempotency-Key": "k1"}
    for _ in range(3):
        assert (await client.post(EVENTS, json=event(), headers=headers)).status_code == 201
    await post_event(client, metadata={"idempotencyKey": "other"})
    assert len(await stored_events(client)) == 4
    assert (await client.get("/_emulator/duplicates")).json() == {"k1": 3}
    assert (await client.get("/_emulator/counts")).json()["duplicate_events"] == 2


async def test_idempotency_header_when_enabled(connect: Connect) -> None:
    """With honour_idempotency_header, a repeat returns the original with 200."""
    async with connect(hub_config(honour_idempotency_header=True)) as client:
        headers = {**auth(), "Idempotency-Key": "k1"}
        first = await client.post(EVENTS, json=event(), headers=headers)
        second = await client.post(EVENTS, json=event(), headers=headers)
        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json() == second.json()
        assert len(await stored_events(client)) == 1


async def test_list_filters_and_pagination(client: httpx.AsyncClient) -> None:
    """Lists filter by widgetId, eventType and idempotencyKey, and page with page/pageSize."""
    for n in range(5):
        await post_event(client, metadata={"idempotencyKey": f"k{n}"})
    await post_event(client, widgetId="widget-ops-backup-verified", eventType="ops-backup-verified")
    page = (
        await client.get(
            EVENTS, params={"widgetId": WIDGET, "pageSize": 2, "page": 3}, headers=auth()
        )
    ).json()
    assert page["meta"] == {"page": 3, "pageSize": 2, "total": 5, "hasMore": False}
    assert [e["metadata"]["idempotencyKey"] for e in page["data"]] == ["k4"]
    by_type = (
        await client.get(EVENTS, params={"eventType": "ops-backup-verified"}, headers=auth())
    ).json()
    assert [e["widgetId"] for e in by_type["data"]] == ["widget-ops-backup-verified"]
    by_key = (await client.get(EVENTS, params={"idempotencyKey": "k2"}, headers=auth())).json()
    assert [e["metadata"]["idempotencyKey"] for e in by_key["data"]] == ["k2"]


@pytest.mark.parametrize("params", [{"page": "0"}, {"pageSize": "x"}, {"page": "-1"}])
async def test_bad_pagination_is_400(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    """page and pageSize must be positive integers."""
    response = await client.get(EVENTS, params=params, headers=auth())
    assert (response.status_code, response.json()["error"]) == (400, "invalid_parameter")


async def test_page_size_is_clamped(client: httpx.AsyncClient) -> None:
    """A pageSize above the maximum is served at the maximum (100)."""
    response = await client.get(WIDGETS, params={"pageSize": 1000}, headers=auth())
    assert response.json()["meta"]["pageSize"] == 100


async def test_seed_widgets_are_listed(client: httpx.AsyncClient) -> None:
    """The default hub has one aggregate widget per event type (ops-evidence scope), paged."""
    widgets = (await client.get(WIDGETS, headers=auth())).json()["data"]
    assert sorted(w["name"] for w in widgets) == sorted(EVENT_TYPES)
    assert {w["policyScope"] for w in widgets} == {POLICY_SCOPE}
    page = (await client.get(WIDGETS, params={"page": 2, "pageSize": 2}, headers=auth())).json()
    assert [w["name"] for w in page["data"]] == [w["name"] for w in widgets[2:4]]
    assert page["meta"] == {"page": 2, "pageSize": 2, "total": len(EVENT_TYPES), "hasMore": True}


async def test_widget_creation(client: httpx.AsyncClient) -> None:
    """A widget gets an id, policyScope internal by default, status, and version 1."""
    body = {
        "hubId": "ops-hub",
        "name": "ops-endpoint-gitea-registry",
        "widgetType": "ops-endpoint-card",
        "viewContext": "apps/x",
    }
    response = await client.post(WIDGETS, json=body, headers=auth())
    assert response.status_code == 201
    widget = response.json()["data"]
    assert (widget["policyScope"], widget["status"], widget["version"]) == ("internal", "active", 1)
    versions = (await client.get(f"/_emulator/widgets/{widget['id']}/versions")).json()
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["snapshot"]["name"] == "ops-endpoint-gitea-registry"
    assert (await post_event(client, widgetId=widget["id"])).status_code == 201


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"hubId": None}, 400, "missing_field"),
        ({"name": None}, 400, "missing_field"),
        ({"widgetType": None}, 400, "missing_field"),
        ({"hubId": "other"}, 422, "unknown_hub"),
        ({"widgetType": "pie-chart"}, 422, "unknown_widget_type"),
        ({"policyScope": "public"}, 422, "unknown_policy_scope"),
        ({"status": "retired"}, 422, "invalid_status"),
        ({"capabilityRef": 3}, 400, "invalid_field"),
    ],
)
async def test_widget_rules(
    client: httpx.AsyncClient, fields: dict[str, Any], status: int, code: str
) -> None:
    """Required fields, registries and statuses are enforced with a JSON error body."""
    body: dict[str, Any] = {
        "hubId": "ops-hub",
        "name": "w",
        "widgetType": "ops-drift-card",
        "policyScope": POLICY_SCOPE,
        "status": "draft",
        **fields,
    }
    body = {k: v for k, v in body.items() if v is not None}
    before = (await client.get("/_emulator/counts")).json()["widgets"]
    response = await client.post(WIDGETS, json=body, headers=auth())
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert (await client.get("/_emulator/counts")).json()["widgets"] == before


async def test_read_rate_limit(connect: Connect) -> None:
    """Reads over the limit answer 429 with Retry-After; writes are not limited."""
    now = [1000.0]
    config = hub_config(read_rate_limit=RateLimitConfig(requests=2, window_seconds=30))
    async with connect(config, clock=lambda: now[0]) as client:
        for _ in range(2):
            assert (await client.get(WIDGETS, headers=auth())).status_code == 200
        limited = await client.get(EVENTS, headers=auth())
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "30"
        assert (await post_event(client)).status_code == 201
        assert (await client.get(WIDGETS, headers=auth(UNBOUND_KEY))).status_code == 200
        now[0] += 30
        assert (await client.get(WIDGETS, headers=auth())).status_code == 200


async def test_requests_are_counted_per_route(client: httpx.AsyncClient) -> None:
    """`/_emulator/counts` counts the API requests per `METHOD /path`, not its own routes."""
    for _ in range(2):
        await client.get("/api/v2/interaction-events", headers=auth())
    await client.get("/api/v2/widgets", headers=auth())
    counts = (await client.get("/_emulator/counts")).json()
    assert counts["requests_by_route"] == {
        "GET /api/v2/interaction-events": 2,
        "GET /api/v2/widgets": 1,
    }

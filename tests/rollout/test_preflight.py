"""gate-probe against the emulator: endpoints, key, mapped widgets, and the live verdict."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops_evidence.config.widget_mapping import WidgetMapping
from ops_evidence.emulator import create_app
from ops_evidence.errors import UnavailableError
from ops_evidence.events.vocabulary import EVENT_TYPES
from ops_evidence.rollout.preflight import BOOTSTRAP, GateReport, endpoint_methods, probe_gates
from tests.emulator.conftest import REVOKED_KEY, hub_config
from tests.inter_hub_clients import HubOn

pytestmark = pytest.mark.anyio

AGGREGATES = WidgetMapping.model_validate({"event_types": {t: f"widget-{t}" for t in EVENT_TYPES}})


def check(report: GateReport, name: str) -> tuple[bool, bool, str]:
    """(ok, blocking, detail) of the named check."""
    found = next(c for c in report.checks if c.check == name)
    return found.ok, found.blocking, found.detail


async def test_live_when_endpoints_key_and_widgets_are_there(hub_on: HubOn) -> None:
    """With the emulator's seed widgets mapped, every blocking check passes: live."""
    async with hub_on(create_app(hub_config())) as hub:
        report = await probe_gates(hub, AGGREGATES)
    assert report.live
    assert report.endpoints["/widgets"] == ["GET", "POST"]
    assert report.endpoints["/interaction-events"] == ["GET", "POST"]
    assert check(report, "mapped widgets exist") == (True, True, f"all {len(EVENT_TYPES)} exist")


async def test_absent_bootstrap_endpoints_are_reported_but_do_not_block(hub_on: HubOn) -> None:
    """Like live Inter-Hub today, /hubs etc. are absent: reported, non-blocking, still live."""
    async with hub_on(create_app(hub_config())) as hub:
        report = await probe_gates(hub, AGGREGATES)
    for resource in BOOTSTRAP:
        ok, blocking, detail = check(report, f"endpoint /api/v2{resource}")
        assert (ok, blocking) == (False, False)
        assert "does not block" in detail
    assert report.live


async def test_a_missing_mapped_widget_closes_the_gate(hub_on: HubOn) -> None:
    """A mapped widget id that does not exist (on any page) is named and blocks go-live."""
    mapping = WidgetMapping.model_validate(
        {
            "entities": {"endpoint:gitea-registry": "widget-gone"},
            "event_types": AGGREGATES.event_types,
        }
    )
    async with hub_on(create_app(hub_config(max_page_size=2))) as hub:
        report = await probe_gates(hub, mapping)
    assert not report.live
    assert report.missing_widgets == ["widget-gone"]
    assert "widget-gone" in check(report, "mapped widgets exist")[2]


async def test_a_refused_key_closes_the_gate(hub_on: HubOn) -> None:
    """A revoked key fails the key check; widgets are then not checked."""
    async with hub_on(create_app(hub_config()), key=REVOKED_KEY) as hub:
        report = await probe_gates(hub, AGGREGATES)
    assert not report.live
    ok, blocking, detail = check(report, "OPS_HUB_KEY authenticates")
    assert (ok, blocking) == (False, True)
    assert "403" in detail
    assert REVOKED_KEY not in str(report.as_json())
    assert check(report, "mapped widgets exist")[2] == "not checked: the key was refused"


async def test_no_mapping_closes_the_gate(hub_on: HubOn) -> None:
    """Without OPS_HUB_WIDGET_MAPPING the widget gate fails and says to run seed-widgets."""
    async with hub_on(create_app(hub_config())) as hub:
        report = await probe_gates(hub, None)
    assert not report.live
    assert "seed-widgets" in check(report, "mapped widgets exist")[2]


def test_endpoint_methods_match_prefixed_relative_and_sub_paths() -> None:
    """Paths count with or without /api/v2; a sub-path alone marks a resource present."""
    found = endpoint_methods(
        [
            "/api/v2/widgets get",
            "/widgets post",
            "/hubs/{id} get",
            "/interaction-events post",
            "/api/v2/widgets parameters",
            "/policy-scope get",
        ]
    )
    assert found == {"/widgets": ["GET", "POST"], "/hubs": [], "/interaction-events": ["POST"]}


def stub_hub(openapi_status: int, paths: dict[str, Any] | None = None) -> Starlette:
    """A fake Inter-Hub: the OpenAPI document with `paths` (or an error), an empty widget list."""

    async def openapi(_: Request) -> Response:
        if openapi_status != 200:
            return JSONResponse({"error": "nope"}, status_code=openapi_status)
        return JSONResponse({"openapi": "3.1.0", "servers": [{"url": "/api/v2"}], "paths": paths})

    async def widgets(_: Request) -> Response:
        return JSONResponse({"data": [], "meta": {"hasMore": False}})

    return Starlette(
        routes=[Route("/api/v2/openapi.json", openapi), Route("/api/v2/widgets", widgets)]
    )


async def test_no_openapi_document_closes_the_gate(hub_on: HubOn) -> None:
    """A 404 for openapi.json fails that check and leaves the endpoints unknown: not live."""
    async with hub_on(stub_hub(404)) as hub:
        report = await probe_gates(hub, AGGREGATES)
    assert not report.live
    assert check(report, "OpenAPI document")[0] is False
    assert check(report, "endpoint /api/v2/interaction-events")[2] == "unknown: no OpenAPI document"


async def test_openapi_server_error_is_unavailable(hub_on: HubOn) -> None:
    """A 5xx for the OpenAPI document means Inter-Hub is down: UnavailableError (exit 69)."""
    async with hub_on(stub_hub(503)) as hub:
        with pytest.raises(UnavailableError, match="503"):
            await probe_gates(hub, AGGREGATES)


async def test_relative_paths_without_events_post_close_the_gate(hub_on: HubOn) -> None:
    """Paths relative to a /api/v2 server count; lacking POST /interaction-events blocks."""
    paths: dict[str, Any] = {
        "/widgets": {"get": {}, "post": {}},
        "/interaction-events": {"get": {}},
        "/hubs": {"get": {}},
    }
    async with hub_on(stub_hub(200, paths)) as hub:
        report = await probe_gates(hub, None)
    assert check(report, "endpoint /api/v2/widgets")[0] is True
    assert check(report, "endpoint /api/v2/interaction-events") == (False, True, "listed: GET")
    assert check(report, "endpoint /api/v2/hubs") == (True, False, "listed: GET")
    assert not report.live

"""Emulated Inter-Hub `/api/v2`: widgets and interaction events, with the seeds' rules.

Validation order for a POST: authentication (401/403), body shape (415/400), then the
registry and manifest rules (422), so a client learns the most basic problem first.
"""

from __future__ import annotations

from typing import Any, get_args

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops_evidence.emulator import listing
from ops_evidence.emulator.access import Consumer
from ops_evidence.emulator.config import DEFAULT_POLICY_SCOPE, WidgetStatus
from ops_evidence.emulator.context import Emulator, emulator_of, new_id, utc_now, widget_record
from ops_evidence.emulator.openapi import openapi_document
from ops_evidence.emulator.replies import (
    ApiError,
    json_object,
    optional_string,
    required_string,
)

PREFIX = "/api/v2"
STATUSES: tuple[str, ...] = get_args(WidgetStatus)


def _authenticated(request: Request, *, read: bool) -> tuple[Emulator, Consumer]:
    emulator = emulator_of(request)
    consumer = emulator.auth.authenticate(request.headers)
    if read:
        emulator.limiter.check(consumer.name)
    return emulator, consumer


def _choice(value: str, allowed: tuple[str, ...], code: str, what: str) -> str:
    if value not in allowed:
        raise ApiError(
            422, code, f"{what} {value!r} is not registered; known: {', '.join(allowed)}"
        )
    return value


async def list_widgets(request: Request) -> Response:
    """`GET /api/v2/widgets`: a page of widgets."""
    try:
        emulator, _ = _authenticated(request, read=True)
        slice_ = listing.window(request, emulator.config)
    except ApiError as exc:
        return exc.response()
    page = emulator.store.page_widgets(slice_)
    return JSONResponse(listing.body(request, emulator.config.lists, slice_, page))


async def create_widget(request: Request) -> Response:
    """`POST /api/v2/widgets`: validate against the registries, store with version 1."""
    try:
        emulator, _ = _authenticated(request, read=False)
        fields = _widget_fields(emulator, await json_object(request))
    except ApiError as exc:
        return exc.response()
    widget, version = widget_record(fields)
    emulator.store.add_widget(widget, version)
    return JSONResponse({"data": widget}, status_code=201)


def _widget_fields(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    hub_id = required_string(body, "hubId")
    name = required_string(body, "name")
    widget_type = required_string(body, "widgetType")
    optional = {
        f: optional_string(body, f) for f in ("capabilityRef", "viewContext", "adapterSpecId")
    }
    policy_scope = optional_string(body, "policyScope") or DEFAULT_POLICY_SCOPE
    status = optional_string(body, "status") or "active"
    if hub_id != emulator.config.hub_id:
        raise ApiError(422, "unknown_hub", f"hub {hub_id!r} does not exist")
    registry = emulator.config.registry
    _choice(widget_type, registry.widget_types, "unknown_widget_type", "widget type")
    _choice(policy_scope, registry.policy_scopes, "unknown_policy_scope", "policy scope")
    if status not in STATUSES:
        raise ApiError(422, "invalid_status", f"status must be one of {', '.join(STATUSES)}")
    return {
        "id": new_id(),
        "hubId": hub_id,
        "name": name,
        "widgetType": widget_type,
        "policyScope": policy_scope,
        "status": status,
        **optional,
    }


async def list_events(request: Request) -> Response:
    """`GET /api/v2/interaction-events`: a page, filtered by widgetId/eventType (and by
    idempotencyKey in the friendly profile only)."""
    try:
        emulator, _ = _authenticated(request, read=True)
        slice_ = listing.window(request, emulator.config)
    except ApiError as exc:
        return exc.response()
    lists = emulator.config.lists
    filters = event_filters(request, key_filter=lists.key_filter)
    page = emulator.store.page_events(filters, slice_)
    return JSONResponse(listing.body(request, lists, slice_, page))


def event_filters(request: Request, *, key_filter: bool = True) -> dict[str, str]:
    """Store filters from the query parameters `widgetId`, `eventType`, `idempotencyKey`
    (the last one ignored, like any unknown parameter, unless `key_filter`)."""
    names = {"widgetId": "widget_id", "eventType": "event_type"}
    if key_filter:
        names["idempotencyKey"] = "idempotency_key"
    return {
        column: request.query_params[param]
        for param, column in names.items()
        if request.query_params.get(param)
    }


async def create_event(request: Request) -> Response:
    """`POST /api/v2/interaction-events`: the seeds' rules, then store (no dedupe by default)."""
    try:
        emulator, consumer = _authenticated(request, read=False)
        event = _event_record(emulator, consumer, await json_object(request))
    except ApiError as exc:
        return exc.response()
    header_key = request.headers.get("idempotency-key")
    if emulator.config.honour_idempotency_header and header_key:
        original = emulator.store.event_by_header_key(consumer.name, header_key)
        if original is not None:
            return JSONResponse({"data": original}, status_code=200)
    emulator.store.add_event(event, consumer.name, header_key)
    return JSONResponse({"data": event}, status_code=201)


def _event_record(emulator: Emulator, consumer: Consumer, body: dict[str, Any]) -> dict[str, Any]:
    widget_id = required_string(body, "widgetId")
    event_type = required_string(body, "eventType")
    view_context = optional_string(body, "viewContext")
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ApiError(400, "invalid_metadata", "metadata must be a JSON object")
    if emulator.store.get_widget(widget_id) is None:
        raise ApiError(422, "unknown_widget", f"widget {widget_id!r} does not exist")
    _check_event_type(emulator, consumer, event_type)
    return {
        "id": new_id(),
        "widgetId": widget_id,
        "eventType": event_type,
        "actorType": "api",
        "actorRef": consumer.name,
        "occurredAt": utc_now(),
        "viewContextRef": view_context,
        "metadata": metadata,
    }


def _check_event_type(emulator: Emulator, consumer: Consumer, event_type: str) -> None:
    config = emulator.config
    if event_type not in config.registry.event_types:
        raise ApiError(
            422,
            "event_type_not_registered",
            f"event type {event_type!r} is not registered in the event-type registry",
        )
    manifest = config.manifest
    if consumer.bound_to_manifest and manifest.active and event_type not in manifest.event_types:
        raise ApiError(
            422,
            "event_type_not_declared",
            f"event type {event_type!r} is not declared by the active manifest {manifest.name!r}",
        )


async def openapi(request: Request) -> Response:
    """`GET /api/v2/openapi.json`: the OpenAPI 3.1 document of exactly these routes."""
    return JSONResponse(openapi_document(emulator_of(request).config))


routes = [
    Route(f"{PREFIX}/widgets", list_widgets, methods=["GET"]),
    Route(f"{PREFIX}/widgets", create_widget, methods=["POST"]),
    Route(f"{PREFIX}/interaction-events", list_events, methods=["GET"]),
    Route(f"{PREFIX}/interaction-events", create_event, methods=["POST"]),
    Route(f"{PREFIX}/openapi.json", openapi, methods=["GET"]),
]

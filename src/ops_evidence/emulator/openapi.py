"""The OpenAPI 3.1 document of the emulated Inter-Hub `/api/v2` (exactly the served routes)."""

from __future__ import annotations

from typing import Any

from ops_evidence import __version__
from ops_evidence.emulator.config import EmulatorConfig

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "malformed request",
        401: "missing or unknown API key",
        403: "API consumer not allowed",
        415: "body is not application/json",
        422: "a registry or manifest rule failed",
        429: "read rate limit (see Retry-After)",
    }
    return {str(s): _json(_ref("Error"), text[s]) for s in statuses}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _page_params(config: EmulatorConfig) -> list[dict[str, Any]]:
    lists = config.lists
    size = _query(
        "pageSize" if lists.style == "page-pagesize" else "limit",
        f"items per page; larger values are clamped to {config.max_page_size}",
        {"type": "integer", "minimum": 1, "default": lists.default_size},
    )
    if lists.style == "next-link":
        return []
    if lists.style == "cursor":
        return [_query("cursor", "nextCursor of the previous page", _str()), size]
    if lists.style == "offset-limit":
        offset = {"type": "integer", "minimum": 0, "default": 0}
        return [_query("offset", "items to skip", offset), size]
    page = {"type": "integer", "minimum": 1, "default": 1}
    return [_query("page", "1-based page number", page), size]


def _list(config: EmulatorConfig, item: str) -> dict[str, Any]:
    items = {"type": "array", "items": _ref(item)}
    style = config.lists.style
    if style == "bare-list":
        return items
    if style == "page-pagesize":
        return {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {"data": items, "meta": _ref("PageMeta")},
        }
    # The other styles' paging fields are described in docs/contracts.md.
    return {"type": "object", "required": ["data"], "properties": {"data": items}}


def _one(item: str) -> dict[str, Any]:
    return {"type": "object", "required": ["data"], "properties": {"data": _ref(item)}}


def _str(*, nullable: bool = False, enum: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"] if nullable else "string"}
    if enum:
        schema["enum"] = list(enum)
    return schema


def _schemas(config: EmulatorConfig) -> dict[str, Any]:
    return {**_paging_schemas(), **_widget_schemas(config), **_event_schemas(config)}


def _paging_schemas() -> dict[str, Any]:
    return {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {"error": _str(), "message": _str()},
        },
        "PageMeta": {
            "type": "object",
            "required": ["page", "pageSize", "hasMore"],
            "properties": {
                "page": {"type": "integer"},
                "pageSize": {"type": "integer"},
                "total": {"type": "integer"},
                "hasMore": {"type": "boolean"},
            },
        },
    }


def _widget_schemas(config: EmulatorConfig) -> dict[str, Any]:
    reg = config.registry
    widget_props = {
        "hubId": _str(),
        "name": _str(),
        "widgetType": _str(enum=reg.widget_types),
        "policyScope": _str(enum=reg.policy_scopes),
        "status": _str(enum=("active", "deprecated", "draft")),
        "capabilityRef": _str(nullable=True),
        "viewContext": _str(nullable=True),
        "adapterSpecId": _str(nullable=True),
    }
    return {
        "WidgetCreate": {
            "type": "object",
            "required": ["hubId", "name", "widgetType"],
            "properties": widget_props,
        },
        "Widget": {
            "type": "object",
            "properties": {
                "id": _str(),
                **widget_props,
                "version": {"type": "integer"},
                "createdAt": _str(),
                "updatedAt": _str(),
            },
        },
    }


def _event_schemas(config: EmulatorConfig) -> dict[str, Any]:
    event_in = {
        "widgetId": _str(),
        "eventType": _str(enum=config.registry.event_types),
        "viewContext": _str(),
        "metadata": {"type": "object"},
    }
    return {
        "InteractionEventCreate": {
            "type": "object",
            "required": ["widgetId", "eventType"],
            "properties": event_in,
        },
        "InteractionEvent": {
            "type": "object",
            "properties": {
                "id": _str(),
                "widgetId": _str(),
                "eventType": _str(),
                "actorType": _str(enum=("api",)),
                "actorRef": _str(),
                "occurredAt": _str(),
                "viewContextRef": _str(nullable=True),
                "metadata": {"type": "object"},
            },
        },
    }


def _security(config: EmulatorConfig) -> dict[str, Any]:
    if config.auth_header.lower() == "authorization" and config.auth_scheme.lower() == "bearer":
        return {"type": "http", "scheme": "bearer"}
    return {"type": "apiKey", "in": "header", "name": config.auth_header}


_BODY: dict[str, Any] = {"required": True, "content": {"application/json": {"schema": {}}}}


def _paths(config: EmulatorConfig) -> dict[str, Any]:
    return {
        "/api/v2/widgets": _widget_paths(config),
        "/api/v2/interaction-events": _event_paths(config),
        "/api/v2/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document")},
            },
        },
    }


def _widget_paths(config: EmulatorConfig) -> dict[str, Any]:
    return {
        "get": {
            "operationId": "listWidgets",
            "summary": "List widgets",
            "parameters": _page_params(config),
            "responses": {
                "200": _json(_list(config, "Widget"), "a page of widgets"),
                **_errors(400, 401, 403, 429),
            },
        },
        "post": {
            "operationId": "createWidget",
            "summary": "Create a widget (version 1)",
            "requestBody": _with_schema(_BODY, "WidgetCreate"),
            "responses": {
                "201": _json(_one("Widget"), "the created widget"),
                **_errors(400, 401, 403, 415, 422),
            },
        },
    }


def _event_filters(config: EmulatorConfig) -> list[dict[str, Any]]:
    filters = [
        _query("widgetId", "only events of this widget", _str()),
        _query("eventType", "only events of this type", _str()),
    ]
    if config.lists.key_filter:
        filters.append(
            _query(
                "idempotencyKey",
                "only events whose metadata.idempotencyKey matches (emulator extension)",
                _str(),
            )
        )
    return filters


def _event_paths(config: EmulatorConfig) -> dict[str, Any]:
    return {
        "get": {
            "operationId": "listInteractionEvents",
            "summary": "List interaction events",
            "parameters": [*_page_params(config), *_event_filters(config)],
            "responses": {
                "200": _json(_list(config, "InteractionEvent"), "a page of events"),
                **_errors(400, 401, 403, 429),
            },
        },
        "post": {
            "operationId": "createInteractionEvent",
            "summary": "Record an interaction event (occurredAt is server-set)",
            "requestBody": _with_schema(_BODY, "InteractionEventCreate"),
            "responses": {
                "201": _json(_one("InteractionEvent"), "the stored event"),
                **_errors(400, 401, 403, 415, 422),
            },
        },
    }


def _with_schema(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {**body, "content": {"application/json": {"schema": _ref(name)}}}


def openapi_document(config: EmulatorConfig) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `config` (registries appear as enums)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"Inter-Hub API v2 (ops-evidence emulator, hub {config.hub_id})",
            "version": __version__,
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": _paths(config),
        "components": {
            "schemas": _schemas(config),
            "securitySchemes": {"apiKey": _security(config)},
        },
    }

"""Response helpers shared by the emulated APIs: JSON bodies, errors, request parsing."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


class ApiError(Exception):
    """An answer other than success: status, a machine code and a human message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        """`{"error": code, "message": message}` with the status and headers."""
        return JSONResponse(
            {"error": self.code, "message": self.message},
            status_code=self.status,
            headers=self.headers,
        )


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; 415 unless JSON, 400 unless an object."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "request body must be a JSON object")
    return body


def required_string(body: dict[str, Any], field: str) -> str:
    """A required, non-empty string field; 400 naming the field otherwise."""
    value = body.get(field)
    if value is None or value == "":
        raise ApiError(400, "missing_field", f"{field} is required")
    if not isinstance(value, str):
        raise ApiError(400, "invalid_field", f"{field} must be a string")
    return value


def optional_string(body: dict[str, Any], field: str) -> str | None:
    """An optional string field; 400 naming the field when it is not a string."""
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, "invalid_field", f"{field} must be a string")
    return value


def int_param(request: Request, name: str, default: int, minimum: int = 1) -> int:
    """An integer query parameter ≥ `minimum`; 400 naming it otherwise."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer") from None
    if value < minimum:
        raise ApiError(400, "invalid_parameter", f"{name} must be at least {minimum}")
    return value


def page_window(request: Request, default_size: int, max_size: int) -> tuple[int, int]:
    """(page, pageSize) from the query; pageSize above the maximum is clamped to it."""
    page = int_param(request, "page", 1)
    size = min(int_param(request, "pageSize", default_size), max_size)
    return page, size


def page_body(items: list[Any], page: int, size: int, total: int) -> dict[str, Any]:
    """The list envelope: `{"data": [...], "meta": {page, pageSize, total, hasMore}}`."""
    return {
        "data": items,
        "meta": {"page": page, "pageSize": size, "total": total, "hasMore": page * size < total},
    }

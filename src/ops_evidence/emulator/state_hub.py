"""Emulated State Hub: health, and a progress log idempotent by `idempotency_key`.

Errors use `{"detail": ...}` with 422, as a FastAPI service would (an assumption).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops_evidence.emulator.context import emulator_of, new_id, utc_now
from ops_evidence.emulator.replies import ApiError, int_param, json_object

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50


def _detail(exc: ApiError) -> Response:
    status = 422 if exc.status == 400 else exc.status
    return JSONResponse({"detail": exc.message}, status_code=status)


async def health(_: Request) -> Response:
    """`GET /state/health`."""
    return JSONResponse({"status": "ok"})


async def create_progress(request: Request) -> Response:
    """`POST /progress/`: 201 with a new record, or 200 with the original for a known key."""
    try:
        body = await json_object(request)
        record = {
            "id": new_id(),
            "event_type": _text(body, "event_type", required=True),
            "idempotency_key": _text(body, "idempotency_key"),
            "summary": _text(body, "summary"),
            "detail": _object(body, "detail"),
            "created_at": utc_now(),
        }
    except ApiError as exc:
        return _detail(exc)
    stored, created = emulator_of(request).store.add_progress(record)
    return JSONResponse(stored, status_code=201 if created else 200)


def _text(body: dict[str, object], field: str, *, required: bool = False) -> str | None:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise ApiError(422, "missing_field", f"{field} is required")
        return None
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", f"{field} must be a string")
    return value


def _object(body: dict[str, object], field: str) -> object:
    value = body.get(field)
    if value is not None and not isinstance(value, dict):
        raise ApiError(422, "invalid_field", f"{field} must be a JSON object")
    return value


async def list_progress(request: Request) -> Response:
    """`GET /progress/?event_type=…&limit=…`: newest first, a bare JSON list."""
    try:
        limit = int_param(request, "limit", DEFAULT_LIMIT)
    except ApiError as exc:
        return _detail(exc)
    if limit > MAX_LIMIT:
        return JSONResponse({"detail": f"limit must be at most {MAX_LIMIT}"}, status_code=422)
    event_type = request.query_params.get("event_type") or None
    return JSONResponse(emulator_of(request).store.list_progress(event_type, limit))


routes = [
    Route("/state/health", health, methods=["GET"]),
    Route("/progress/", list_progress, methods=["GET"]),
    Route("/progress/", create_progress, methods=["POST"]),
]

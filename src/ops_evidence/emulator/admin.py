"""Inspection and control under `/_emulator/` (no authentication: loopback tooling only).

Tests and operators count what was received, switch faults on and off, and reset.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops_evidence.emulator.config import FaultConfig
from ops_evidence.emulator.context import Emulator, emulator_of
from ops_evidence.emulator.inter_hub import event_filters
from ops_evidence.emulator.replies import ApiError, json_object, page_body, page_window

PREFIX = "/_emulator"
MAX_PAGE = 10_000


def _counts(emulator: Emulator) -> dict[str, Any]:
    stored = emulator.store.counts()
    duplicates = emulator.store.duplicate_keys()
    return {
        "interaction_events": stored["events"],
        "duplicate_events": sum(duplicates.values()) - len(duplicates),
        "widgets": stored["widgets"],
        "widget_versions": stored["widget_versions"],
        "progress": stored["progress"],
        "requests": emulator.requests,
        "requests_by_route": dict(emulator.routes),
        "faults": dict(emulator.faults.counts),
    }


async def counts(request: Request) -> Response:
    """`GET /_emulator/counts`: stored records, requests seen, faults injected."""
    return JSONResponse(_counts(emulator_of(request)))


async def events(request: Request) -> Response:
    """`GET /_emulator/events`: every stored interaction event (same filters as the API)."""
    emulator = emulator_of(request)
    try:
        page, size = page_window(request, MAX_PAGE, MAX_PAGE)
    except ApiError as exc:
        return exc.response()
    items, total = emulator.store.list_events(event_filters(request), (page - 1) * size, size)
    return JSONResponse(page_body(items, page, size, total))


async def duplicates(request: Request) -> Response:
    """`GET /_emulator/duplicates`: idempotency keys stored more than once, with counts."""
    return JSONResponse(emulator_of(request).store.duplicate_keys())


async def progress(request: Request) -> Response:
    """`GET /_emulator/progress`: every stored progress record, newest first."""
    return JSONResponse(emulator_of(request).store.list_progress(None, 1_000_000))


async def widget_versions(request: Request) -> Response:
    """`GET /_emulator/widgets/{id}/versions`: a widget's version snapshots."""
    return JSONResponse(emulator_of(request).store.widget_versions(request.path_params["id"]))


async def get_faults(request: Request) -> Response:
    """`GET /_emulator/faults`: the fault config in force."""
    return JSONResponse(emulator_of(request).faults.config.model_dump(mode="json"))


async def put_faults(request: Request) -> Response:
    """`PUT /_emulator/faults`: replace the fault config (the schedule restarts at its seed)."""
    emulator = emulator_of(request)
    try:
        config = FaultConfig.model_validate(await json_object(request))
        emulator.set_faults(config)
    except ApiError as exc:
        return exc.response()
    except (ValidationError, ValueError) as exc:
        return JSONResponse({"error": "invalid_faults", "message": str(exc)}, status_code=422)
    return JSONResponse(config.model_dump(mode="json"))


async def reset(request: Request) -> Response:
    """`POST /_emulator/reset`: forget everything received; reseed widgets and faults."""
    emulator = emulator_of(request)
    emulator.reset()
    return JSONResponse(_counts(emulator))


routes = [
    Route(f"{PREFIX}/counts", counts, methods=["GET"]),
    Route(f"{PREFIX}/events", events, methods=["GET"]),
    Route(f"{PREFIX}/duplicates", duplicates, methods=["GET"]),
    Route(f"{PREFIX}/progress", progress, methods=["GET"]),
    Route(f"{PREFIX}/widgets/{{id}}/versions", widget_versions, methods=["GET"]),
    Route(f"{PREFIX}/faults", get_faults, methods=["GET"]),
    Route(f"{PREFIX}/faults", put_faults, methods=["PUT"]),
    Route(f"{PREFIX}/reset", reset, methods=["POST"]),
]

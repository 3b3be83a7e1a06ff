"""`gate-probe`: can this service submit evidence to Inter-Hub now, and if not, why not?

Live means every *blocking* check passes:

- the OpenAPI document (`/api/v2/openapi.json`) answers 200 with `paths`;
- it lists `GET /api/v2/widgets` and `POST /api/v2/interaction-events`;
- an authenticated `GET /api/v2/widgets` answers 200 (the key authenticates);
- `OPS_HUB_WIDGET_MAPPING` is set and every widget id in it exists (all pages listed).

The bootstrap endpoints `/hubs`, `/hub-capability-manifests`, `/api-consumers` and
`/policy-scopes` are reported but do not block: they are how a hub, its manifest, the API
consumer and the policy scope would be created *through the API*; the same records can be
created in the Inter-Hub UI or by migrations. Whether the active manifest declares every
event type is proven by `smoke`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from ops_evidence.config.widget_mapping import WidgetMapping
from ops_evidence.delivery.sinks.classify import short_error
from ops_evidence.delivery.sinks.inter_hub_client import API, HubRefused, InterHubClient
from ops_evidence.errors import UnavailableError
from ops_evidence.redact import redact_text

BOOTSTRAP = ("/hubs", "/hub-capability-manifests", "/api-consumers", "/policy-scopes")
# (resource, method the service needs): reading widgets, posting events.
REQUIRED = (("/widgets", "get"), ("/interaction-events", "post"))
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True, slots=True)
class Check:
    """One row of the gate table."""

    check: str
    ok: bool
    blocking: bool
    detail: str


@dataclass(slots=True)
class GateReport:
    """Every check, the endpoints found, and the mapped widgets that are missing."""

    inter_hub_url: str
    checks: list[Check] = field(default_factory=list)
    endpoints: dict[str, list[str]] = field(default_factory=dict)
    missing_widgets: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        """True when submission can go live: every blocking check passed."""
        return all(c.ok for c in self.checks if c.blocking)

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON."""
        return {
            "inter_hub_url": self.inter_hub_url,
            "live": self.live,
            "checks": [
                {"check": c.check, "ok": c.ok, "blocking": c.blocking, "detail": c.detail}
                for c in self.checks
            ],
            "endpoints": self.endpoints,
            "missing_widgets": self.missing_widgets,
        }


async def probe_gates(hub: InterHubClient, mapping: WidgetMapping | None) -> GateReport:
    """Run every check against Inter-Hub; UnavailableError (69) when it cannot be reached."""
    report = GateReport(redact_text(hub.base_url))
    paths = await _openapi_paths(hub, report)
    report.endpoints = endpoint_methods(paths) if paths is not None else {}
    _endpoint_checks(report, paths is not None)
    authenticated = await _key_check(hub, report)
    await _widget_check(hub, mapping, report, authenticated=authenticated)
    return report


async def _openapi_paths(hub: InterHubClient, report: GateReport) -> list[str] | None:
    response = await hub.get("/openapi.json")
    if response.status_code >= 500:
        raise UnavailableError(f"Inter-Hub OpenAPI document: {short_error(response)}")
    paths = _paths_of(response) if response.status_code == 200 else None
    detail = (
        f"{len(paths)} paths listed"
        if paths is not None
        else f"GET {API}/openapi.json: {short_error(response)}"
    )
    report.checks.append(Check("OpenAPI document", paths is not None, True, detail))
    return paths


def _paths_of(response: httpx.Response) -> list[str] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    paths = body.get("paths") if isinstance(body, dict) else None
    if not isinstance(paths, dict):
        return None
    return [f"{p} {m}" for p, ops in paths.items() if isinstance(ops, dict) for m in ops]


def endpoint_methods(path_methods: list[str]) -> dict[str, list[str]]:
    """Resource -> methods on its collection path, for the six resources the seeds name.

    Paths are matched with or without the `/api/v2` prefix (a document may list them relative
    to a server URL ending in `/api/v2`); a resource only seen as `/hubs/{id}` counts as present
    with no collection methods.
    """
    found: dict[str, set[str]] = {r: set() for r in (*BOOTSTRAP, *(r for r, _ in REQUIRED))}
    present: set[str] = set()
    for entry in path_methods:
        path, _, method = entry.partition(" ")
        relative = path.removeprefix(API)
        for resource, methods in found.items():
            if relative == resource and method.lower() in METHODS:
                methods.add(method.upper())
                present.add(resource)
            elif relative.startswith(resource + "/"):
                present.add(resource)
    return {r: sorted(found[r]) for r in found if r in present}


def _endpoint_checks(report: GateReport, have_document: bool) -> None:
    for resource, method in REQUIRED:
        methods = report.endpoints.get(resource)
        ok = methods is not None and method.upper() in methods
        if not have_document:
            detail = "unknown: no OpenAPI document"
        elif methods is None:
            detail = f"absent from OpenAPI; needed: {method.upper()} {API}{resource}"
        else:
            detail = f"listed: {', '.join(methods) or 'sub-paths only'}"
        report.checks.append(Check(f"endpoint {API}{resource}", ok, True, detail))
    for resource in BOOTSTRAP:
        methods = report.endpoints.get(resource)
        ok = methods is not None
        detail = (
            f"listed: {', '.join(methods) or 'sub-paths only'}"
            if methods is not None
            else "absent: bootstrap through the Inter-Hub UI or migrations (does not block)"
        )
        report.checks.append(Check(f"endpoint {API}{resource}", ok, False, detail))


async def _key_check(hub: InterHubClient, report: GateReport) -> bool:
    response = await hub.get("/widgets", {"page": 1, "pageSize": 1})
    status = response.status_code
    ok = status == 200
    if ok:
        detail = f"GET {API}/widgets answered 200"
    elif status in (401, 403):
        detail = f"refused: {short_error(response)} (wrong, revoked or unbound OPS_HUB_KEY)"
    elif status >= 500:
        detail = (
            f"{short_error(response)}; a 500 on reads may be the PostgreSQL COUNT(*) "
            "decoding bug (production gate 1, Inter-Hub commit 5101eb5)"
        )
    else:
        detail = short_error(response)
    report.checks.append(Check("OPS_HUB_KEY authenticates", ok, True, detail))
    return ok


async def _widget_check(
    hub: InterHubClient, mapping: WidgetMapping | None, report: GateReport, *, authenticated: bool
) -> None:
    name = "mapped widgets exist"
    if mapping is None or mapping.is_empty():
        detail = "OPS_HUB_WIDGET_MAPPING is not set (run `ops-evidence seed-widgets`)"
        report.checks.append(Check(name, False, True, detail))
        return
    wanted = sorted({*mapping.entities.values(), *mapping.event_types.values()})
    if not authenticated:
        report.checks.append(Check(name, False, True, "not checked: the key was refused"))
        return
    try:
        widgets = await hub.list_all("/widgets")
    except HubRefused as exc:
        report.checks.append(Check(name, False, True, f"listing widgets failed: {exc.reason}"))
        return
    existing = {str(w.get("id")) for w in widgets if isinstance(w, dict)}
    report.missing_widgets = [w for w in wanted if w not in existing]
    ok = not report.missing_widgets
    detail = (
        f"all {len(wanted)} exist"
        if ok
        else (
            f"{len(report.missing_widgets)} of {len(wanted)} missing: "
            + ", ".join(report.missing_widgets[:5])
            + (" …" if len(report.missing_widgets) > 5 else "")
        )
    )
    report.checks.append(Check(name, ok, True, redact_text(detail)))

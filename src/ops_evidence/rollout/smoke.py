"""`smoke`: the controlled smoke of production gate 6.

One check per declared type of the vocabulary (an event of each is accepted by its mapped
widget), and one undeclared (but registered) type, `ops-risk-raised`, is rejected. Every smoke event
carries `viewContext: ops-evidence:smoke:<run id>` and `metadata.smoke: true`, so it can be
told apart from evidence (and its attributes say `verified: false`, reason `smoke_test`).

Widget choice per type: the aggregate widget when the mapping has one (it keeps smoke out
of the per-entity widgets), else the first inventory entity of that type with a widget,
else any mapped entity widget of that type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from ops_evidence.config.widget_mapping import WidgetMapping
from ops_evidence.delivery.sinks.classify import classify_response, short_error
from ops_evidence.delivery.sinks.inter_hub_client import InterHubClient, response_data
from ops_evidence.events.envelope import idempotency_key, new_run_id
from ops_evidence.events.vocabulary import EVENT_TYPES, context_key
from ops_evidence.events.wire import interaction_event_body
from ops_evidence.redact import redact
from ops_evidence.rollout.smoke_events import smoke_event

UNDECLARED_TYPE = "ops-risk-raised"
# Colons, not slashes: `ops-evidence/smoke/2026…` reads as a base64 run to the redactor.
VIEW_CONTEXT_PREFIX = "ops-evidence:smoke:"
# Of a stored event, what the report shows (the rest echoes what was sent).
ANSWER_FIELDS = ("id", "widgetId", "eventType", "actorType", "occurredAt", "viewContextRef")

Expect = Literal["accepted", "rejected"]


@dataclass(frozen=True, slots=True)
class SmokeCheck:
    """One check: what was sent, what came back, and whether that is what we expected."""

    event_type: str
    expect: Expect
    ok: bool
    detail: str
    widget_id: str | None = None
    sent: dict[str, Any] | None = None
    http_status: int | None = None
    answer: Any = None


@dataclass(slots=True)
class SmokeReport:
    """The run id, its view context, and the checks (declared types, then the undeclared one)."""

    run_id: str
    checks: list[SmokeCheck] = field(default_factory=list)

    @property
    def view_context(self) -> str:
        """The `viewContext` every smoke event of this run carries."""
        return VIEW_CONTEXT_PREFIX + self.run_id

    @property
    def ok(self) -> bool:
        """True when every check passed (one per declared type, plus the undeclared one)."""
        return len(self.checks) == len(EVENT_TYPES) + 1 and all(c.ok for c in self.checks)

    def verdict(self) -> str:
        """`all 7 checks passed`, or `FAILED: ` and the failing event types.

        Not `passed: 7`: the redactor reads `pass…: value` as a password, and this line is
        also the recorded OPS-G15 detail, which is redacted."""
        if self.ok:
            return f"all {len(self.checks)} checks passed"
        return "FAILED: " + ", ".join(c.event_type for c in self.checks if not c.ok)

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON, with each request body and answer."""
        return {
            "run_id": self.run_id,
            "view_context": self.view_context,
            "ok": self.ok,
            "checks": [
                {
                    "event_type": c.event_type,
                    "expect": c.expect,
                    "ok": c.ok,
                    "detail": c.detail,
                    "widget_id": c.widget_id,
                    "http_status": c.http_status,
                    "sent": c.sent,
                    "answer": c.answer,
                }
                for c in self.checks
            ],
        }


def pick_widget(
    event_type: str, mapping: WidgetMapping, entity_ids: Iterable[str]
) -> tuple[str, str] | None:
    """(context key, widget id) a smoke event of `event_type` goes to; None if unmapped."""
    prefix = EVENT_TYPES[event_type].prefix
    aggregate = mapping.widget_for(event_type, f"{prefix}:smoke")
    if aggregate is not None:
        return f"{prefix}:smoke", aggregate
    for entity_id in entity_ids:
        key = context_key(event_type, entity_id)
        if key in mapping.entities:
            return key, mapping.entities[key]
    for key, widget in sorted(mapping.entities.items()):
        if key.startswith(prefix + ":"):
            return key, widget
    return None


async def run_smoke(
    hub: InterHubClient,
    mapping: WidgetMapping,
    entity_ids: Mapping[str, list[str]] | None = None,
    run_id: str | None = None,
) -> SmokeReport:
    """Send each declared type, then the undeclared one; never retries a write."""
    report = SmokeReport(run_id or new_run_id())
    for event_type in EVENT_TYPES:
        target = pick_widget(event_type, mapping, (entity_ids or {}).get(event_type, []))
        if target is None:
            detail = f"no widget mapped for {event_type} (run `ops-evidence seed-widgets`)"
            report.checks.append(SmokeCheck(event_type, "accepted", False, detail))
            continue
        body = _body(event_type, *target, report)
        report.checks.append(_declared_check(event_type, body, await _post(hub, body)))
    report.checks.append(await _undeclared_check(hub, report))
    return report


def _body(event_type: str, key: str, widget: str, report: SmokeReport) -> dict[str, Any]:
    body = interaction_event_body(
        smoke_event(event_type, key, report.run_id), widget, report.view_context
    )
    body["metadata"]["smoke"] = True
    return body


async def _post(hub: InterHubClient, body: dict[str, Any]) -> httpx.Response:
    return await hub.post("/interaction-events", body)


def _answer(response: httpx.Response) -> Any:
    # What came back, redacted: the stored event on success, the error body otherwise.
    data = response_data(response)
    if 200 <= response.status_code < 300 and isinstance(data, dict):
        data = {k: data[k] for k in ANSWER_FIELDS if k in data}
    return redact(data) if data is not None else short_error(response)


def _declared_check(event_type: str, body: dict[str, Any], response: httpx.Response) -> SmokeCheck:
    status = response.status_code
    ok = 200 <= status < 300
    data = response_data(response)
    if ok:
        event_id = data.get("id") if isinstance(data, dict) else None
        detail = f"accepted ({status}), event {event_id}"
    elif status in (401, 403):
        detail = f"key refused: {short_error(response)}"
    else:
        detail = f"not accepted: {short_error(response)}"
    return SmokeCheck(
        event_type, "accepted", ok, detail, body["widgetId"], body, status, _answer(response)
    )


async def _undeclared_check(hub: InterHubClient, report: SmokeReport) -> SmokeCheck:
    accepted = [c for c in report.checks if c.ok and c.sent]
    sendable = accepted or [c for c in report.checks if c.sent]
    if not sendable or sendable[0].sent is None:
        detail = "not sent: no mapped widget to send it to"
        return SmokeCheck(UNDECLARED_TYPE, "rejected", False, detail)
    body = _undeclared_body(sendable[0].sent)
    response = await _post(hub, body)
    ok, detail = _judge_rejection(response, widget_took_declared=bool(accepted))
    return SmokeCheck(
        UNDECLARED_TYPE,
        "rejected",
        ok,
        detail,
        body["widgetId"],
        body,
        response.status_code,
        _answer(response),
    )


def _undeclared_body(template: dict[str, Any]) -> dict[str, Any]:
    # Same widget, same shape: only the event type (and so the idempotency key) differs, so a
    # rejection can only be about the type.
    metadata = dict(template["metadata"])
    key = idempotency_key(str(metadata["runId"]), str(metadata["contextKey"]), UNDECLARED_TYPE)
    metadata["idempotencyKey"] = key
    return {**template, "eventType": UNDECLARED_TYPE, "metadata": metadata}


def _judge_rejection(response: httpx.Response, *, widget_took_declared: bool) -> tuple[bool, str]:
    status = response.status_code
    if 200 <= status < 300:
        return False, (
            f"accepted ({status}): the hub does not enforce its manifest for this key "
            "(consumer not bound to an active manifest?)"
        )
    kind = classify_response(response).kind
    reason = short_error(response)
    if kind == "undeclared":
        return True, f"rejected as undeclared: {reason}"
    if kind == "rejected" and widget_took_declared:
        return True, f"rejected ({reason}); the same widget accepted a declared type"
    return False, f"no proof of rejection for the type: {reason}"

"""Pure mappings from an event to the bytes each downstream receives.

The bodies are serialised once, canonically (sorted keys, compact), and stored in the
outbox: every retry sends the same bytes with the same idempotency key.
"""

from __future__ import annotations

import json
from typing import Any

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.vocabulary import STATE_HUB_EVENT_TYPE, VSM_FUNCTION, VSM_SYSTEM
from ops_evidence.redact import redact


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_attributes(event: EvidenceEvent) -> dict[str, Any]:
    """The event's attributes as redacted JSON, with `observed_at` added."""
    attributes: dict[str, Any] = event.attributes.model_dump(mode="json", exclude_none=True)
    attributes["observed_at"] = event.observed_at.isoformat().replace("+00:00", "Z")
    result: dict[str, Any] = redact(attributes)
    return result


def interaction_event_body(
    event: EvidenceEvent, widget_id: str, view_context: str | None = None
) -> dict[str, Any]:
    """`POST /api/v2/interaction-events` body for an event routed to `widget_id`.

    `occurredAt` is server-set by Inter-Hub, so the observed time travels in
    `metadata.attributes.observed_at` (seed `ops-hub-evidence-intake.md`).
    """
    body: dict[str, Any] = {
        "widgetId": widget_id,
        "eventType": event.event_type,
        "metadata": {
            "vsmFunction": VSM_FUNCTION,
            "vsmSystem": VSM_SYSTEM,
            "contextKey": event.context_key,
            "runId": event.run_id,
            "idempotencyKey": event.idempotency_key,
            "attributes": event_attributes(event),
        },
    }
    if view_context:
        body["viewContext"] = view_context
    return body


def progress_body(
    event: EvidenceEvent, *, status: str, reason: str | None = None
) -> dict[str, Any]:
    """State Hub `POST /progress/` body: `ops_inventory_probe` with compact, non-secret detail.

    `status` records why the event is on the fallback path (e.g. `missing_widget_mapping`).
    """
    attrs = event.attributes
    verdict = "verified" if attrs.verified else f"not verified ({attrs.reason or 'unknown'})"
    detail: dict[str, Any] = {
        "event_type": event.event_type,
        "context_key": event.context_key,
        "run_id": event.run_id,
        "inter_hub_status": status,
        "attributes": event_attributes(event),
    }
    if reason:
        detail["inter_hub_reason"] = reason
    return {
        "event_type": STATE_HUB_EVENT_TYPE,
        "idempotency_key": event.idempotency_key,
        "summary": f"{event.event_type} {event.context_key}: {verdict}",
        "detail": redact(detail),
    }

"""Pure mappings from an event to the bytes each downstream receives.

The bodies are serialised once, canonically (sorted keys, compact), and stored in the
outbox: every retry sends the same bytes with the same idempotency key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.identifiers import attribute_shapes, shapes_of
from ops_evidence.events.registry import event_model
from ops_evidence.events.vocabulary import STATE_HUB_EVENT_TYPE, VSM_FUNCTION, VSM_SYSTEM
from ops_evidence.redact import MAX_ITEMS, Shapes, redact


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_attributes(event: EvidenceEvent) -> dict[str, Any]:
    """The event's attributes as redacted JSON, with `observed_at` added."""
    shapes = shapes_of(type(event.attributes))
    result: dict[str, Any] = redact(_raw_attributes(event), shapes=shapes)
    return result


def _raw_attributes(event: EvidenceEvent) -> dict[str, Any]:
    attributes: dict[str, Any] = event.attributes.model_dump(mode="json", exclude_none=True)
    attributes["observed_at"] = event.observed_at.isoformat().replace("+00:00", "Z")
    return attributes


def key_order_matters(event: EvidenceEvent, attributes: dict[str, Any]) -> bool:
    """Whether `event_attributes` could differ for this event reloaded from its canonical
    JSON (keys sorted), given `attributes`, its `event_attributes` in memory.

    `redact` depends on a mapping's key order in two ways only: it keeps a mapping's first
    MAX_ITEMS entries, and of two keys that redact to the same text the later wins. Its
    output is otherwise the same entries in any order, and canonical JSON sorts them.
    """
    return _order_matters(_raw_attributes(event), attributes)


def _order_matters(raw: Any, redacted: Any) -> bool:
    if isinstance(raw, Mapping):
        if len(raw) > MAX_ITEMS:
            return True
        if not isinstance(redacted, Mapping):
            return False  # masked or cut whole: no order left to matter
        if len(redacted) != len(raw):
            return True  # two keys redacted to one
        # Same length, same insertion order: the entries correspond one to one.
        pairs = zip(raw.values(), redacted.values(), strict=True)
        return any(_order_matters(a, b) for a, b in pairs)
    if isinstance(raw, list) and isinstance(redacted, list):
        # A list keeps its order in JSON; only the mappings inside it can matter.
        return any(_order_matters(a, b) for a, b in zip(raw, redacted, strict=False))
    return False


def interaction_event_body(
    event: EvidenceEvent,
    widget_id: str,
    view_context: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`POST /api/v2/interaction-events` body for an event routed to `widget_id`.

    `occurredAt` is server-set by Inter-Hub, so the observed time travels in
    `metadata.attributes.observed_at` (seed `ops-hub-evidence-intake.md`). `attributes`:
    `event_attributes(event)` when the caller has it already (redaction is per-event CPU).
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
            "attributes": event_attributes(event) if attributes is None else attributes,
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
    return progress_body_from(fallback_seed(event), status=status, reason=reason)


def fallback_seed(event: EvidenceEvent, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a State Hub body needs of the event, as JSON values (see `seed_bytes`).

    Stored with the Inter-Hub delivery at enqueue, so the fallback decided at dispatch time
    is built from the row (`progress_body_from`) without loading and re-validating the event.
    `attributes`: `event_attributes(event)`, when the caller has it already.
    """
    attrs = event.attributes
    verdict = "verified" if attrs.verified else f"not verified ({attrs.reason or 'unknown'})"
    return {
        "idempotency_key": event.idempotency_key,
        "summary": f"{event.event_type} {event.context_key}: {verdict}",
        "event_type": event.event_type,
        "context_key": event.context_key,
        "run_id": event.run_id,
        "attributes": event_attributes(event) if attributes is None else attributes,
    }


def seed_bytes(seed: dict[str, Any]) -> bytes:
    """A seed as stored: JSON in insertion order (not canonical), because `redact` caps a
    mapping at its first items; loading it back gives the same dict, so the same body."""
    return json.dumps(seed, separators=(",", ":"), ensure_ascii=False).encode()


def progress_body_from(
    seed: dict[str, Any], *, status: str, reason: str | None = None
) -> dict[str, Any]:
    """The State Hub body from a `fallback_seed` (fresh, or loaded from `seed_bytes`)."""
    detail: dict[str, Any] = {
        "event_type": seed["event_type"],
        "context_key": seed["context_key"],
        "run_id": seed["run_id"],
        "inter_hub_status": status,
        "attributes": seed["attributes"],
    }
    if reason:
        detail["inter_hub_reason"] = reason
    return {
        "event_type": STATE_HUB_EVENT_TYPE,
        "idempotency_key": seed["idempotency_key"],
        "summary": seed["summary"],
        "detail": redact(detail, shapes=_detail_shapes(seed["event_type"])),
    }


def _detail_shapes(event_type: str) -> Shapes:
    """The event type's identifiers under `attributes`; none for a type no longer known (a
    stored seed outlives a release that dropped it), so everything is redacted as text."""
    try:
        return {"attributes": attribute_shapes(event_model(event_type))}
    except (KeyError, TypeError):
        return {}

"""The planner: what the outbox stores for a new event, decided once at enqueue.

The route (`first_sink.route_for`) says where the event goes first. The rows are the
Inter-Hub delivery, with its body bytes fixed now, or, when Inter-Hub cannot take it, a
visible Inter-Hub row with the reason plus the State Hub fallback. Every Inter-Hub row also
carries its fallback seed, so a fallback decided later needs nothing but the row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ops_evidence.config.settings import Settings
from ops_evidence.delivery.fallback import fallback_delivery
from ops_evidence.delivery.first_sink import route_for
from ops_evidence.delivery.outbox.models import DEFERRED, NewDelivery, Status, StoredEvent
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.registry import parse_event
from ops_evidence.events.wire import (
    canonical_json,
    event_attributes,
    fallback_seed,
    interaction_event_body,
    key_order_matters,
    seed_bytes,
)


@dataclass
class Planner:
    """Turns an event into its outbox rows; `defer_recheck`: when a held row is re-checked."""

    settings: Settings
    defer_recheck: float = 3600.0
    clock: Callable[[], float] = time.time

    def plan(
        self, event: EvidenceEvent, view_context: str | None = None
    ) -> tuple[StoredEvent, list[NewDelivery]]:
        """The event row and its first deliveries."""
        now = self.clock()
        event_json = canonical_json(event.model_dump(mode="json"))
        stored = StoredEvent(
            event.idempotency_key, event.event_type, event.context_key, now, event_json
        )
        route = route_for(self.settings, event.event_type, event.context_key)
        if route.sink == "stdout":
            return stored, [NewDelivery("stdout", event_json)]
        attributes = event_attributes(event)  # redacted once, for both bodies
        seed = fallback_seed(event, attributes)
        widget = self._widget(event)
        body = (
            canonical_json(interaction_event_body(event, widget, view_context, attributes))
            if widget
            else None
        )
        row_seed = seed_bytes(_stored_seed(event, event_json, attributes, seed))
        if route.sink == "inter-hub":
            return stored, [
                NewDelivery("inter-hub", body, widget_id=widget, fallback_seed=row_seed)
            ]
        status: Status = route.status or "missing_inter_hub_config"  # type: ignore[assignment]
        deliveries = [fallback_delivery(seed, status, route.reason)]
        if route.inter_hub_row:
            # Submission switched off: keep an active row that re-checks later.
            due = now + self.defer_recheck if status == DEFERRED else 0.0
            held = NewDelivery("inter-hub", body, status, widget, route.reason, due, row_seed)
            deliveries.insert(0, held)
        return stored, deliveries

    def _widget(self, event: EvidenceEvent) -> str | None:
        # Looked up whatever the route: a held row keeps the body it will post once allowed.
        mapping = self.settings.widget_mapping
        return mapping.widget_for(event.event_type, event.context_key) if mapping else None


def _stored_seed(
    event: EvidenceEvent, event_json: bytes, attributes: dict[str, Any], seed: dict[str, Any]
) -> dict[str, Any]:
    """The seed of a fallback decided later: what the event reloaded from `event_json` gave
    when that fallback was built by reloading it. That is `seed` itself unless redaction
    depends on key order (the stored JSON sorts keys; rare), and only then is the stored
    event validated again, to keep its bytes."""
    if not key_order_matters(event, attributes):
        return seed
    return fallback_seed(parse_event(json.loads(event_json)))

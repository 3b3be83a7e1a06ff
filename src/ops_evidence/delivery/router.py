"""The sink router: what to store for a new event, and what an attempt's outcome means.

At enqueue, `plan` turns an event into the outbox rows: the Inter-Hub delivery (with its
body bytes fixed now) or, when Inter-Hub cannot take it, a visible Inter-Hub row with the
reason plus a State Hub fallback. After each attempt, `decide` maps the sink's Attempt to a
Result: delivered, retry with backoff, defer an undeclared event type, reject, or give up
(`dead`) past the horizon — adding the State Hub fallback wherever Inter-Hub cannot take
the event now.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from ops_evidence.config.settings import Settings
from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.delivery.first_sink import route_for, submission_off
from ops_evidence.delivery.outbox.models import Delivery, NewDelivery, Result, Status, StoredEvent
from ops_evidence.delivery.sinks.base import Attempt
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.registry import parse_event
from ops_evidence.events.wire import canonical_json, interaction_event_body, progress_body
from ops_evidence.logging import get_logger

log = get_logger(component="router")

Loader = Callable[[str], Awaitable[StoredEvent | None]]


@dataclass
class Router:
    """Routing policy for one process; `deferred` remembers undeclared event types."""

    settings: Settings
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.time
    deferred: dict[str, float] = field(default_factory=dict)

    def plan(
        self, event: EvidenceEvent, view_context: str | None = None
    ) -> tuple[StoredEvent, list[NewDelivery]]:
        """The event row and its first deliveries."""
        now = self.clock()
        event_json = canonical_json(event.model_dump(mode="json"))
        stored = StoredEvent(event.idempotency_key, event.event_type, event.context_key, now,
                             event_json)  # fmt: skip
        route = route_for(self.settings, event.event_type, event.context_key)
        if route.sink == "stdout":
            return stored, [NewDelivery("stdout", event_json)]
        widget = self._widget(event)
        body = (
            canonical_json(interaction_event_body(event, widget, view_context)) if widget else None
        )
        if route.sink == "inter-hub":
            return stored, [NewDelivery("inter-hub", body, widget_id=widget)]
        status: Status = route.status or "missing_inter_hub_config"  # type: ignore[assignment]
        deliveries = [_fallback(event, status, route.reason)]
        if route.inter_hub_row:
            # Submission switched off: keep an active row that re-checks later.
            due = now + self.policy.defer_recheck if status == "inter_hub_sink_deferred" else 0.0
            deliveries.insert(0, NewDelivery("inter-hub", body, status, widget, route.reason, due))
        return stored, deliveries

    def _widget(self, event: EvidenceEvent) -> str | None:
        mapping = self.settings.widget_mapping
        return mapping.widget_for(event.event_type, event.context_key) if mapping else None

    async def before_send(self, delivery: Delivery, now: float, load: Loader) -> Result | None:
        """A Result without sending (plus the fallback) when the type is deferred or
        submission is off; None when the delivery should be attempted."""
        if delivery.sink != "inter-hub":
            return None
        reason = None
        if submission_off(self.settings) is not None:
            reason = "Inter-Hub submission is switched off"
            until = now + self.policy.defer_recheck
        elif (until := self.deferred.get(delivery.event_type, 0.0)) > now:
            reason = f"event type {delivery.event_type} deferred (undeclared) until re-check"
        if reason is None:
            return None
        held = Result(delivery.key, delivery.sink, "inter_hub_sink_deferred", until, reason,
                      count_attempt=False, ambiguous=delivery.ambiguous)  # fmt: skip
        return await self._with_fallback(held, load)

    async def decide(
        self, delivery: Delivery, attempt: Attempt, now: float, load: Loader
    ) -> Result:
        """Map an attempt to a Result; `load(key)` fetches the stored event for fallbacks."""
        key, sink, kind = delivery.key, delivery.sink, attempt.kind
        if kind in ("delivered", "duplicate"):
            return Result(key, sink, kind, http_status=attempt.http_status)
        if kind == "transient":
            result = self._transient(delivery, attempt, now)
            needs_fallback = result.status == "dead" or (
                now - delivery.created_at > self.policy.fallback_after
            )
            return await self._with_fallback(result, load) if needs_fallback else result
        if kind == "auth":
            log.error(
                "inter_hub_auth_failed", status=attempt.http_status, sink=sink,
                hint="OPS_HUB_KEY is wrong or revoked; events go to State Hub meanwhile",
            )  # fmt: skip
            until = now + self.policy.slow(self.rng)
            # A 401/403 during a read-back leaves the earlier attempt's fate open.
            result = Result(key, sink, "retrying", until, attempt.error, attempt.http_status,
                            ambiguous=attempt.ambiguous)  # fmt: skip
        elif kind == "undeclared":
            until = now + self.policy.defer_recheck
            self.deferred[delivery.event_type] = until
            log.warning("event_type_deferred", event_type=delivery.event_type, sink=sink,
                        error=attempt.error)  # fmt: skip
            result = Result(key, sink, "inter_hub_sink_deferred", until, attempt.error,
                            attempt.http_status)  # fmt: skip
        else:
            status: Status = "missing_widget_mapping" if kind == "unroutable" else "rejected"
            result = Result(key, sink, status, 0.0, attempt.error, attempt.http_status)
        return await self._with_fallback(result, load)

    def _transient(self, delivery: Delivery, attempt: Attempt, now: float) -> Result:
        """Retry with backoff, or `dead` once past the give-up horizon."""
        if now - delivery.created_at > self.policy.horizon:
            # Still ambiguous if it was: a replay of the dead row reads back first.
            return Result(delivery.key, delivery.sink, "dead", 0.0, attempt.error,
                          attempt.http_status, ambiguous=attempt.ambiguous)  # fmt: skip
        delay = self.policy.delay(delivery.attempts, self.rng, attempt.retry_after)
        return Result(delivery.key, delivery.sink, "retrying", now + delay, attempt.error,
                      attempt.http_status, ambiguous=attempt.ambiguous)  # fmt: skip

    async def _with_fallback(self, result: Result, load: Loader) -> Result:
        """Attach the State Hub fallback to an Inter-Hub result."""
        if result.sink != "inter-hub":
            return result
        stored: StoredEvent | None = await load(result.key)
        if stored is None:
            return result
        event = parse_event(json.loads(stored.event_json))
        reason = result.error or result.status
        return replace(result, fallback=_fallback(event, result.status, reason))


def _fallback(event: EvidenceEvent, status: str, reason: str | None) -> NewDelivery:
    body = canonical_json(progress_body(event, status=status, reason=reason))
    return NewDelivery("state-hub", body, reason=reason)

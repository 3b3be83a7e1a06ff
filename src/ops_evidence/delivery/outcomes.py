"""The outcome policy: what an attempt's outcome means, decided at dispatch time.

Before a send, `before_send` holds an Inter-Hub row while submission is off (decided once,
by `first_sink.submission_off`) or its event type is deferred. After a send, `decide` maps
the sink's Attempt to a Result: delivered, retry with backoff, defer an undeclared event
type, reject, or give up (`dead`) past the horizon — adding the State Hub fallback, built
from the seed the row carries, wherever Inter-Hub cannot take the event now.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace

from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.delivery.fallback import fallback_delivery
from ops_evidence.delivery.outbox.models import Delivery, Result, Status
from ops_evidence.delivery.sinks.base import Attempt
from ops_evidence.logging import get_logger

# Still "router": the log lines (inter_hub_auth_failed, event_type_deferred) keep the
# component operators already filter on.
log = get_logger(component="router")


@dataclass
class OutcomePolicy:
    """`submission_off`: the variable that switched submission off, or None; `deferred`
    remembers undeclared event types until their re-check."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    rng: random.Random = field(default_factory=random.Random)
    submission_off: str | None = None
    deferred: dict[str, float] = field(default_factory=dict)

    def before_send(self, delivery: Delivery, now: float) -> Result | None:
        """A Result without sending (plus the fallback) when the type is deferred or
        submission is off; None when the delivery should be attempted."""
        if delivery.sink != "inter-hub":
            return None
        reason = None
        if self.submission_off is not None:
            reason = "Inter-Hub submission is switched off"
            until = now + self.policy.defer_recheck
        elif (until := self.deferred.get(delivery.event_type, 0.0)) > now:
            reason = f"event type {delivery.event_type} deferred (undeclared) until re-check"
        if reason is None:
            return None
        held = Result(
            delivery.key,
            delivery.sink,
            "inter_hub_sink_deferred",
            until,
            reason,
            count_attempt=False,
            ambiguous=delivery.ambiguous,
        )
        return _with_fallback(held, delivery)

    def decide(self, delivery: Delivery, attempt: Attempt, now: float) -> Result:
        """Map an attempt to a Result, with the fallback where Inter-Hub cannot take it."""
        key, sink, kind = delivery.key, delivery.sink, attempt.kind
        if kind in ("delivered", "duplicate"):
            return Result(key, sink, kind, http_status=attempt.http_status)
        if kind == "transient":
            result = self._transient(delivery, attempt, now)
            needs_fallback = result.status == "dead" or (
                now - delivery.created_at > self.policy.fallback_after
            )
            return _with_fallback(result, delivery) if needs_fallback else result
        if kind == "auth":
            result = self._auth(delivery, attempt, now)
        elif kind == "undeclared":
            result = self._undeclared(delivery, attempt, now)
        else:
            status: Status = "missing_widget_mapping" if kind == "unroutable" else "rejected"
            result = Result(key, sink, status, 0.0, attempt.error, attempt.http_status)
        return _with_fallback(result, delivery)

    def _auth(self, delivery: Delivery, attempt: Attempt, now: float) -> Result:
        """A refused key: retry slowly (State Hub takes the event meanwhile)."""
        log.error(
            "inter_hub_auth_failed",
            status=attempt.http_status,
            sink=delivery.sink,
            hint="OPS_HUB_KEY is wrong or revoked; events go to State Hub meanwhile",
        )
        until = now + self.policy.slow(self.rng)
        # A 401/403 during a read-back leaves the earlier attempt's fate open.
        return Result(
            delivery.key,
            delivery.sink,
            "retrying",
            until,
            attempt.error,
            attempt.http_status,
            ambiguous=attempt.ambiguous,
        )

    def _undeclared(self, delivery: Delivery, attempt: Attempt, now: float) -> Result:
        """An event type the hub does not declare: defer the type until its re-check."""
        until = now + self.policy.defer_recheck
        self.deferred[delivery.event_type] = until
        log.warning(
            "event_type_deferred",
            event_type=delivery.event_type,
            sink=delivery.sink,
            error=attempt.error,
        )
        return Result(
            delivery.key,
            delivery.sink,
            "inter_hub_sink_deferred",
            until,
            attempt.error,
            attempt.http_status,
        )

    def _transient(self, delivery: Delivery, attempt: Attempt, now: float) -> Result:
        """Retry with backoff, or `dead` once past the give-up horizon."""
        if now - delivery.created_at > self.policy.horizon:
            # Still ambiguous if it was: a replay of the dead row reads back first.
            return Result(
                delivery.key,
                delivery.sink,
                "dead",
                0.0,
                attempt.error,
                attempt.http_status,
                ambiguous=attempt.ambiguous,
            )
        delay = self.policy.delay(delivery.attempts, self.rng, attempt.retry_after)
        return Result(
            delivery.key,
            delivery.sink,
            "retrying",
            now + delay,
            attempt.error,
            attempt.http_status,
            ambiguous=attempt.ambiguous,
        )


def _with_fallback(result: Result, delivery: Delivery) -> Result:
    """Attach the State Hub fallback to an Inter-Hub result, from the row's seed (a row
    without one, whose event could not be read at migration, gets none, as before)."""
    if result.sink != "inter-hub" or delivery.fallback_seed is None:
        return result
    seed = json.loads(delivery.fallback_seed)
    reason = result.error or result.status
    return replace(result, fallback=fallback_delivery(seed, result.status, reason))

"""The State Hub fallback delivery, built from a fallback seed (`events.wire.fallback_seed`).

Shared by the planner (a fallback known at enqueue) and the outcome policy (one decided
after an attempt, from the seed the Inter-Hub row carries), so both give the same bytes.
"""

from __future__ import annotations

from typing import Any

from ops_evidence.delivery.outbox.models import NewDelivery
from ops_evidence.events.wire import canonical_json, progress_body_from


def fallback_delivery(seed: dict[str, Any], status: str, reason: str | None) -> NewDelivery:
    """The State Hub delivery recording why the event took the fallback path."""
    body = canonical_json(progress_body_from(seed, status=status, reason=reason))
    return NewDelivery("state-hub", body, reason=reason)

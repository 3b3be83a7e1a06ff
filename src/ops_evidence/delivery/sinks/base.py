"""The sink seam: send one stored delivery, report what happened as data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from ops_evidence.delivery.outbox.models import Delivery

AttemptKind = Literal[
    "delivered",  # the sink accepted it now
    "duplicate",  # it was already there (read-back found it, or 409)
    "transient",  # connection error, timeout, 408, 429, 5xx: retry later
    "auth",  # 401/403: the key is bad or revoked
    "undeclared",  # the event type is not declared by the active manifest
    "rejected",  # any other 4xx: permanent
    "unroutable",  # nothing to send (no widget, no body)
]


@dataclass(frozen=True, slots=True)
class Attempt:
    """Outcome of one attempt. `ambiguous`: the request may have landed unanswered."""

    kind: AttemptKind
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    ambiguous: bool = False


class Sink(Protocol):
    """Sends a delivery's stored body bytes; never raises for the outside world's failures."""

    name: str

    async def send(self, delivery: Delivery) -> Attempt:
        """Attempt the delivery once (plus a read-back when it was ambiguous)."""
        ...

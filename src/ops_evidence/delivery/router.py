"""The sink router: the planner and the outcome policy of one process, decided together.

`Router` reads the settings once: submission off or on (`first_sink.submission_off`) is
decided here, for the planner (the route of each event at enqueue, `planner.py`) and the
outcome policy (what each attempt means at dispatch, `outcomes.py`) alike. The service
plans through `plan` and hands `outcomes` (with the lease, `policy.lease`) to the
dispatcher; the two halves share nothing else.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ops_evidence.config.settings import Settings
from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.delivery.first_sink import submission_off
from ops_evidence.delivery.outbox.models import Delivery, NewDelivery, Result, StoredEvent
from ops_evidence.delivery.outcomes import OutcomePolicy
from ops_evidence.delivery.planner import Planner
from ops_evidence.delivery.sinks.base import Attempt
from ops_evidence.events.envelope import EvidenceEvent


@dataclass
class Router:
    """Routing policy for one process: a Planner and an OutcomePolicy on one decision."""

    settings: Settings
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.time
    planner: Planner = field(init=False)
    outcomes: OutcomePolicy = field(init=False)

    def __post_init__(self) -> None:
        self.planner = Planner(self.settings, self.policy.defer_recheck, self.clock)
        self.outcomes = OutcomePolicy(self.policy, self.rng, submission_off(self.settings))

    def plan(
        self, event: EvidenceEvent, view_context: str | None = None
    ) -> tuple[StoredEvent, list[NewDelivery]]:
        """The event row and its first deliveries (`Planner.plan`)."""
        return self.planner.plan(event, view_context)

    def before_send(self, delivery: Delivery, now: float) -> Result | None:
        """A Result without sending, or None to send (`OutcomePolicy.before_send`)."""
        return self.outcomes.before_send(delivery, now)

    def decide(self, delivery: Delivery, attempt: Attempt, now: float) -> Result:
        """What an attempt's outcome means (`OutcomePolicy.decide`)."""
        return self.outcomes.decide(delivery, attempt, now)

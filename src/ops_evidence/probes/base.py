"""The seam between the scheduler and the probes: `ProbeTarget`, `ProbeContext`, `Observations`.

A probe is `async def probe(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent`. It
reads its entity from `ctx.inventory` by `target.entity_id`, runs shared checks, and returns
one event of `target.event_type` whose attributes went through `redact`. It never raises:
every failure of the outside world is a `verified: false` event with a reason and message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio

from ops_evidence.checks.base import Failure
from ops_evidence.checks.http import ClientFactory, fresh_client
from ops_evidence.events.envelope import EvidenceEvent, new_run_id
from ops_evidence.events.identifiers import attribute_shapes
from ops_evidence.inventory.models import Entity, Inventory
from ops_evidence.redact import redact_field

if TYPE_CHECKING:
    from ops_evidence.probes.identity import Identity, IdentityChange


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """One thing to probe: which event type, for which entity, how often and how long."""

    event_type: str
    context_key: str
    entity_id: str
    environment: str | None
    interval: timedelta
    timeout: timedelta
    heartbeat: timedelta

    @property
    def timeout_seconds(self) -> float:
        """The probe's time budget in seconds, as the checks take it."""
        return self.timeout.total_seconds()


class Observations(Protocol):
    """The latest event per context key: what drift compares the inventory with."""

    def record(self, event: EvidenceEvent) -> None:
        """Keep `event` as the latest for its context key (if it is not older)."""

    def latest(self, context_key: str) -> EvidenceEvent | None:
        """The latest event for a context key, or None when never observed."""

    def all(self) -> Iterable[EvidenceEvent]:
        """Every latest event."""

    def identity_changes(self, context_key: str) -> Sequence[IdentityChange]:
        """The latest change of each identity attribute (`probes.identity`) between two
        observations of a context key, whenever it happened; the reader decides how long
        one is worth reporting."""


class MemoryObservations:
    """In-memory `Observations`: one dict, latest wins by `observed_at`; identity changes
    are remembered as long as the process lives (nothing survives a restart)."""

    def __init__(self) -> None:
        """Start empty."""
        self._latest: dict[str, EvidenceEvent] = {}
        # Last seen value per key and attribute, kept across observations without it, so an
        # outage between two different host keys still shows the change.
        self._identity: dict[str, dict[str, Identity]] = {}
        self._changes: dict[str, dict[str, IdentityChange]] = {}

    def record(self, event: EvidenceEvent) -> None:
        """Keep `event` unless a newer one for the same key is already known."""
        known = self._latest.get(event.context_key)
        if known is None or known.observed_at <= event.observed_at:
            self._latest[event.context_key] = event
            self._remember_identity(event)

    def _remember_identity(self, event: EvidenceEvent) -> None:
        # Imported here: the plan, which imports this module, must not load the event models.
        from ops_evidence.probes.identity import IdentityChange, identities

        seen = self._identity.setdefault(event.context_key, {})
        for attribute, now in identities(event).items():
            before = seen.get(attribute)
            if before is not None and before.value != now.value:
                change = IdentityChange(attribute, before, now, event.observed_at)
                self._changes.setdefault(event.context_key, {})[attribute] = change
            seen[attribute] = now

    def latest(self, context_key: str) -> EvidenceEvent | None:
        """The latest event for a context key."""
        return self._latest.get(context_key)

    def all(self) -> Iterable[EvidenceEvent]:
        """Every latest event (a snapshot, safe to iterate while recording)."""
        return list(self._latest.values())

    def identity_changes(self, context_key: str) -> Sequence[IdentityChange]:
        """The latest change per identity attribute of a context key (one each: bounded)."""
        return list(self._changes.get(context_key, {}).values())


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class ProbeContext:
    """What a probe may use besides its target: inventory, HTTP clients, clock, observations,
    and the state directory (where `gate-probe --record` and `smoke --record` leave outcomes)."""

    inventory: Inventory
    observations: Observations = field(default_factory=MemoryObservations)
    client_factory: ClientFactory = fresh_client
    now: Callable[[], datetime] = _utc_now
    run_id: Callable[[], str] = new_run_id
    state_dir: Path | None = None
    # Planned interval per context key, filled on first use by the readiness probes: each of the
    # fifteen reads it on every evaluation, and planning walks the whole inventory.
    intervals: dict[str, timedelta] = field(default_factory=dict)
    # Held by the probes that must not overlap (restore drills: `ProbeSpec.serial`).
    serial: anyio.Lock = field(default_factory=anyio.Lock)


E = TypeVar("E", bound=EvidenceEvent)
_Entity = TypeVar("_Entity", bound=Entity)


def entity(inventory: Inventory, section: str, entity_id: str, kind: type[_Entity]) -> _Entity:
    """The `kind` entry with this id in `section` (the plan only lists ids that exist)."""
    item = inventory.entity(section, entity_id)
    if not isinstance(item, kind):
        raise LookupError(entity_id)
    return item


def make_event(
    model: type[E], ctx: ProbeContext, target: ProbeTarget, attributes: dict[str, Any]
) -> E:
    """An event of `model` for `target`, attributes redacted, envelope filled in."""
    attributes.setdefault("environment", target.environment)
    # Top-level keys are the model's own field names; every value (nested keys too) is
    # redacted, and values of the identifier types the model declares are kept when they have
    # their shape (`events.identifiers`).
    shapes = attribute_shapes(model)
    return model.build(
        context_key=target.context_key,
        attributes={
            name: redact_field(value, shapes.get(name)) for name, value in attributes.items()
        },
        run_id=ctx.run_id(),
        observed_at=ctx.now(),
    )


def verdict(failure: Failure | None) -> dict[str, Any]:
    """`verified`, `reason`, `message` attributes from an optional failure."""
    if failure is None:
        return {"verified": True, "reason": None, "message": None}
    return {"verified": False, "reason": failure.reason[:64], "message": failure.message}

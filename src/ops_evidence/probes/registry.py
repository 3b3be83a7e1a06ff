"""The probe registry and the plan: the whole interface the scheduler needs.

    plan(inventory)            -> list[ProbeTarget]   every (event type, context key, entity,
                                                      environment, interval, timeout, heartbeat)
    await run_probe(ctx, t)    -> EvidenceEvent       run one target now; never raises

A probe module registers one function per event type with `@register_probe(event_type,
on_failure=...)`. `run_probe` enforces the target's timeout as a backstop (checks have their
own), turns any unexpected exception into a `verified: false` event through `on_failure`,
and records the event in `ctx.observations` so `ops-inventory-drift` can compare it later.
Probes registered with `after_observations=True` (drift, readiness gates) are computed from
the other probes' observations: they make no network calls and should run after the other
targets in a pass (`derived(event_type)` says which). Use one `ProbeContext` (so one
`Observations` store) for every target of an inventory, and targets from `plan(ctx.inventory)`
of that same inventory: after a reload, plan again. `ProbeTarget.interval` says how often to
run a target, `timeout` bounds one run, and `heartbeat` is how often an unchanged result
should still be emitted (the emitter's concern).

Adding an event type is one model in `events/types.py` plus one probe module listed in
`PROBE_MODULES`, and a line each in `events.vocabulary.EVENT_TYPES` (widget type and names)
and `Inventory.probe_targets` (which entities it runs for).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import import_module

import anyio
import structlog

from ops_evidence.checks.base import Failure
from ops_evidence.errors import describe_exception
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.vocabulary import EVENT_TYPES, context_key
from ops_evidence.inventory.checks import Schedule
from ops_evidence.inventory.models import AccessPath, Backup, Endpoint, Inventory, Service
from ops_evidence.probes.base import ProbeContext, ProbeTarget

ProbeFunction = Callable[[ProbeContext, ProbeTarget], Awaitable[EvidenceEvent]]
FailureEvent = Callable[[ProbeContext, ProbeTarget, Failure], EvidenceEvent]

# Grace beyond the target's timeout for the checks' own timeouts to fire first.
_BACKSTOP_GRACE = 2.0

PROBE_MODULES = (
    "service_observed",
    "endpoint_verified",
    "access_path_checked",
    "backup_verified",
    "inventory_drift",
    "readiness.probe",
)

log = structlog.get_logger("ops_evidence.probes")


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """A registered probe, how to express a failure it could not express itself, and whether
    it is computed from the other probes' observations (so runs after them)."""

    probe: ProbeFunction
    on_failure: FailureEvent
    after_observations: bool = False


PROBES: dict[str, ProbeSpec] = {}


def register_probe(
    event_type: str, *, on_failure: FailureEvent, after_observations: bool = False
) -> Callable[[ProbeFunction], ProbeFunction]:
    """Decorator: make `probe` the one probe of `event_type`."""

    def decorate(probe: ProbeFunction) -> ProbeFunction:
        PROBES[event_type] = ProbeSpec(probe, on_failure, after_observations)
        return probe

    return decorate


def probes() -> dict[str, ProbeSpec]:
    """Every registered probe (importing the probe modules registers them)."""
    if len(PROBES) < len(PROBE_MODULES):
        for name in PROBE_MODULES:
            import_module(f"ops_evidence.probes.{name}")
    return PROBES


def derived(event_type: str) -> bool:
    """True for a probe computed from the other probes' observations (drift, gates)."""
    return probes()[event_type].after_observations


Declared = Service | Endpoint | AccessPath | Backup


def _entry(inventory: Inventory, event_type: str, entity_id: str) -> Declared | None:
    """The inventory entry behind a non-drift target (environments have no schedule)."""
    sections: dict[str, list[Service] | list[Endpoint] | list[AccessPath] | list[Backup]] = {
        "ops-service-observed": inventory.services,
        "ops-endpoint-verified": inventory.endpoints,
        "ops-access-path-checked": inventory.access_paths,
        "ops-backup-verified": inventory.backups,
    }
    section = sections.get(event_type, [])
    return next((item for item in section if item.id == entity_id), None)


def _environment_of(inventory: Inventory, event_type: str, entity_id: str) -> str | None:
    if EVENT_TYPES[event_type][1] == "environments":
        return entity_id  # a drift target's entity is its environment
    item = _entry(inventory, event_type, entity_id)
    if item is None:
        return None  # not in one environment (a readiness gate)
    if isinstance(item, Endpoint) and item.environment is None:
        service = inventory.service(item.service)
        return service.environment if service else None
    return item.environment


def plan(inventory: Inventory) -> list[ProbeTarget]:
    """Every probe to run, derived ones (drift, gates) last, schedules resolved from defaults."""
    targets: list[ProbeTarget] = []
    for event_type, ids in inventory.probe_targets().items():
        for entity_id in ids:
            schedule = _schedule(inventory, event_type, entity_id)
            assert schedule.interval is not None
            assert schedule.timeout is not None
            assert schedule.heartbeat is not None
            targets.append(
                ProbeTarget(
                    event_type=event_type,
                    context_key=context_key(event_type, entity_id),
                    entity_id=entity_id,
                    environment=_environment_of(inventory, event_type, entity_id),
                    interval=schedule.interval,
                    timeout=schedule.timeout,
                    heartbeat=schedule.heartbeat,
                )
            )
    return targets


def _schedule(inventory: Inventory, event_type: str, entity_id: str) -> Schedule:
    return inventory.schedule_of(_entry(inventory, event_type, entity_id) or Schedule())


def find_target(inventory: Inventory, key: str) -> ProbeTarget | None:
    """The planned target with this context key, or None."""
    return next((t for t in plan(inventory) if t.context_key == key), None)


async def run_probe(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Run the target's probe with a timeout backstop; record and return its event."""
    spec = probes()[target.event_type]
    event: EvidenceEvent | None = None
    try:
        with anyio.move_on_after(target.timeout_seconds + _BACKSTOP_GRACE):
            event = await spec.probe(ctx, target)
        if event is None:
            message = f"no result within {target.timeout_seconds}s"
            event = spec.on_failure(ctx, target, Failure.of("timeout", message))
    except Exception as exc:  # noqa: BLE001 - a probe must never take the scheduler down
        log.warning("probe_crashed", context_key=target.context_key, error=describe_exception(exc))
        event = spec.on_failure(ctx, target, Failure.of("probe_error", describe_exception(exc)))
    ctx.observations.record(event)
    # A passing probe is routine (thousands an hour): debug. A failing one is what operators tail.
    failed = event.attributes.failed
    (log.info if failed else log.debug)(
        "probe_failed" if failed else "probe_finished",
        context_key=target.context_key,
        event_type=target.event_type,
        reason=event.attributes.reason,
        message=event.attributes.message,
    )
    return event


async def observe(ctx: ProbeContext, environment: str | None = None, concurrency: int = 16) -> None:
    """Run every observation probe (not the derived ones) once, or only one environment's,
    so a derived probe run next has evidence to read."""
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(target: ProbeTarget) -> None:
        async with limiter:
            await run_probe(ctx, target)

    async with anyio.create_task_group() as tg:
        for target in plan(ctx.inventory):
            if not derived(target.event_type) and environment in (None, target.environment):
                tg.start_soon(one, target)

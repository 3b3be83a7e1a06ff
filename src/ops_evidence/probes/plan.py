"""The plan: every probe target of an inventory, from the table of event types.

    plan(inventory) -> list[ProbeTarget]   every (event type, context key, entity,
                                           environment, interval, timeout, heartbeat)

Which entities a type runs for (`Inventory.probe_targets`), its context key, whether it is
derived, and the inventory entry whose schedule and environment a target takes, all come
from the type's `EventTypeSpec` (`events.vocabulary.EVENT_TYPES`): nothing here names an
event type. A type with its own settings on the entry (`config`, a backup's `restore:`)
takes its schedule from them. Derived targets (drift, readiness gates) are computed from
the other probes' observations, make no network calls and come last. Use targets from
`plan(ctx.inventory)` of the inventory a `ProbeContext` holds: after a reload, plan again.
`ProbeTarget.interval` says how often to run a target, `timeout` bounds one run, and
`heartbeat` is how often an unchanged result should still be emitted (the emitter's concern).
"""

from __future__ import annotations

from ops_evidence.events.vocabulary import EVENT_TYPES, context_key
from ops_evidence.inventory.checks import Schedule
from ops_evidence.inventory.models import (
    AccessPath,
    Backup,
    Cluster,
    Endpoint,
    Entity,
    Environment,
    Host,
    Inventory,
    Service,
)
from ops_evidence.probes.base import ProbeTarget

Located = Service | Endpoint | AccessPath | Backup | Host | Cluster


def derived(event_type: str) -> bool:
    """True for a probe computed from the other probes' observations (drift, gates)."""
    return EVENT_TYPES[event_type].derived


def plan(inventory: Inventory) -> list[ProbeTarget]:
    """Every probe to run, derived ones (drift, gates) last, schedules resolved from defaults."""
    targets: list[ProbeTarget] = []
    for event_type, ids in inventory.probe_targets().items():
        spec = EVENT_TYPES[event_type]
        for entity_id in ids:
            item = inventory.entity(spec.section, entity_id)
            schedule = inventory.schedule_of(_schedule_source(item, spec.config))
            assert schedule.interval is not None
            assert schedule.timeout is not None
            assert schedule.heartbeat is not None
            targets.append(
                ProbeTarget(
                    event_type=event_type,
                    context_key=context_key(event_type, entity_id),
                    entity_id=entity_id,
                    environment=_environment_of(inventory, item),
                    interval=schedule.interval,
                    timeout=schedule.timeout,
                    heartbeat=schedule.heartbeat,
                )
            )
    # Stable: the table's order within each group, whatever order the rows were added in.
    return sorted(targets, key=lambda target: derived(target.event_type))


def _schedule_source(item: Entity | None, config: str | None) -> Schedule:
    """The entry's schedule, or its type's settings' (a backup's `restore:`) when the type
    has its own."""
    source = getattr(item, config, None) if config else item
    return source if isinstance(source, Schedule) else Schedule()


def _environment_of(inventory: Inventory, item: Entity | None) -> str | None:
    if item is None:
        return None  # not in one environment (a readiness gate)
    if isinstance(item, Environment):
        return item.id  # a drift target's entity is its environment
    if isinstance(item, Endpoint) and item.environment is None:
        service = inventory.service(item.service)
        return service.environment if service else None
    return item.environment if isinstance(item, Located) else None


def find_target(inventory: Inventory, key: str) -> ProbeTarget | None:
    """The planned target with this context key, or None."""
    return next((t for t in plan(inventory) if t.context_key == key), None)

"""The probe registry: which probe produces each event type, and running one.

    PROBES                     event type -> ProbeSpec(probe, on_failure), a literal map
    await run_probe(ctx, t)    -> EvidenceEvent       run one target now; never raises
    await observe(ctx)         every observation (not derived) probe once

With `plan` (`probes/plan.py`) this is the whole interface the scheduler needs. `run_probe`
enforces the target's timeout as a backstop (checks have their own), turns any unexpected
exception into a `verified: false` event through `on_failure`, and records the event in
`ctx.observations` so `ops-inventory-drift` can compare it later. Use one `ProbeContext` (so
one `Observations` store) for every target of an inventory.

Why a second table, keyed by the first: the table of event types (`events.vocabulary.
EVENT_TYPES`) holds every fact of the event contract, but the probes sit two layers above it
(they import the checks and the inventory), so the event layer cannot name them. `PROBES` is
the one place that does, keyed by the same type names (a test keeps the key sets equal); it
imports the probe modules directly, so there is no registration by import side effect.
Importing this module loads every probe and its checks: what only needs the plan imports
`probes.plan`.

Adding an event type is two edits (docs/operations.md, "Adding an event type"): its model in
`events/types.py` with its row in `EVENT_TYPES`, and its probe module with its row here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import structlog

from ops_evidence.checks.base import Failure
from ops_evidence.errors import describe_exception
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.probes import (
    access_path_checked,
    backup_verified,
    endpoint_per_address,
    endpoint_verified,
    inventory_drift,
    restore_tested,
    service_observed,
)
from ops_evidence.probes.base import ProbeContext, ProbeTarget
from ops_evidence.probes.plan import derived, plan
from ops_evidence.probes.readiness import probe as readiness

ProbeFunction = Callable[[ProbeContext, ProbeTarget], Awaitable[EvidenceEvent]]
FailureEvent = Callable[[ProbeContext, ProbeTarget, Failure], EvidenceEvent]

# Grace beyond the target's timeout for the checks' own timeouts to fire first.
_BACKSTOP_GRACE = 2.0

log = structlog.get_logger("ops_evidence.probes")


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """A type's probe, and how to express a failure it could not express itself."""

    probe: ProbeFunction
    on_failure: FailureEvent
    # Runs one at a time (`ProbeContext.serial`, see `turn`): restore drills never overlap in
    # one process. The wait for the turn is outside the target's timeout, the scheduler's
    # cut-off and its concurrency slots, so it eats neither the drill's budget nor a slot.
    serial: bool = False


PROBES: dict[str, ProbeSpec] = {
    "ops-service-observed": ProbeSpec(
        service_observed.probe_service, service_observed.failure_event
    ),
    "ops-endpoint-verified": ProbeSpec(
        endpoint_per_address.probe_endpoint_addresses, endpoint_verified.failure_event
    ),
    "ops-access-path-checked": ProbeSpec(
        access_path_checked.probe_access_path, access_path_checked.failure_event
    ),
    "ops-backup-verified": ProbeSpec(backup_verified.probe_backup, backup_verified.failure_event),
    "ops-restore-tested": ProbeSpec(
        restore_tested.probe_restore, restore_tested.failure_event, serial=True
    ),
    "ops-inventory-drift": ProbeSpec(inventory_drift.probe_drift, inventory_drift.failure_event),
    "ops-readiness-gate-updated": ProbeSpec(readiness.probe_gate, readiness.failure_event),
}


def probes() -> dict[str, ProbeSpec]:
    """Every event type's probe."""
    return PROBES


def turn(ctx: ProbeContext, target: ProbeTarget) -> contextlib.AbstractAsyncContextManager[Any]:
    """What a run of the target waits for before it starts: `ctx.serial` for a serial probe
    (restore drills take turns), nothing for the others. A caller that bounds the run or
    holds a concurrency slot takes the turn first, so the wait counts against neither."""
    return ctx.serial if probes()[target.event_type].serial else contextlib.nullcontext()


async def run_probe(
    ctx: ProbeContext, target: ProbeTarget, *, turn_taken: bool = False
) -> EvidenceEvent:
    """Run the target's probe with a timeout backstop; record and return its event. Waits
    for its `turn` first unless the caller has taken it (`turn_taken`)."""
    spec = probes()[target.event_type]
    event: EvidenceEvent | None = None
    try:
        async with contextlib.nullcontext() if turn_taken else turn(ctx, target):
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
        # A drill waiting for its turn holds no slot: the other probes go ahead meanwhile.
        async with turn(ctx, target), limiter:
            await run_probe(ctx, target, turn_taken=True)

    async with anyio.create_task_group() as tg:
        for target in plan(ctx.inventory):
            if not derived(target.event_type) and environment in (None, target.environment):
                tg.start_soon(one, target)

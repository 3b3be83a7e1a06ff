"""Turn the probe plan into scheduler jobs: the one place probes meet the scheduler."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from ops_evidence.events.registry import parse_event
from ops_evidence.events.vocabulary import EVENT_TYPES
from ops_evidence.inventory.models import Inventory
from ops_evidence.probes.base import ProbeContext, ProbeTarget
from ops_evidence.probes.plan import derived, plan
from ops_evidence.probes.registry import probes, run_probe, turn
from ops_evidence.schedule.runner import Job


def build_jobs(
    inventory: Inventory, ctx: ProbeContext | None = None, *, state_dir: Path | None = None
) -> list[Job]:
    """One job per planned probe target; derived jobs (drift, gates) wait for the first run
    of the other observations, restore drills excepted. `state_dir` is where the gate rules
    find recorded rollout outcomes."""
    ctx = ctx or ProbeContext(inventory, state_dir=state_dir)
    return [_job(inventory, ctx, target) for target in plan(inventory)]


def _job(inventory: Inventory, ctx: ProbeContext, target: ProbeTarget) -> Job:
    # A serial probe (a restore drill) waits for its turn in the scheduler, before its slot
    # and its cut-off, so run_probe is told the turn is taken; and is recalled on restart.
    serial = probes()[target.event_type].serial
    return Job(
        key=target.context_key,
        event_type=target.event_type,
        interval=target.interval.total_seconds(),
        timeout=target.timeout.total_seconds(),
        heartbeat=target.heartbeat.total_seconds(),
        run=functools.partial(run_probe, ctx, target, turn_taken=serial),
        view_context=_view_context(inventory, target),
        after_observations=derived(target.event_type),
        turn=functools.partial(turn, ctx, target) if serial else None,
        recall=functools.partial(_recall, ctx) if serial else None,
    )


def _recall(ctx: ProbeContext, body: str) -> None:
    # A drill's kept event, as the probe would have recorded it: the gates read it after a
    # restart, until the drill runs again. Raises (ValueError …) on a body it cannot read.
    ctx.observations.record(parse_event(json.loads(body)))


def _view_context(inventory: Inventory, target: ProbeTarget) -> str | None:
    """The entity's `view_context` from the inventory, if it declares one."""
    item = inventory.entity(EVENT_TYPES[target.event_type].section, target.entity_id)
    return item.view_context if item else None

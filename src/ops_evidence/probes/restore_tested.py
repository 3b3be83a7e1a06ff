"""`ops-restore-tested`: a restore drill of a backup that declares `restore:`.

The drill (`checks.restore.drill`) restores the newest backup into a fresh folder under the
drill's `scratch` (default `<state dir>/restore-scratch`), verifies it and removes the
folder; the event is built after the removal. `rpo_seconds` is the restored backup's age
when the drill started (a long drill does not age it), `duration_seconds` the drill's wall
time (the recovery time).

Drills run one at a time: the probe is `serial` in `probes.registry.PROBES`, so a second
drill waits for the first outside its own time budget. At start-up (`run`, `run --once`)
`sweep_leftovers` removes what a killed drill left.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from ops_evidence.checks.base import Failure
from ops_evidence.checks.restore.drill import DrillOutcome, run_drill
from ops_evidence.checks.restore.scratch import sweep
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import RestoreTested
from ops_evidence.inventory.models import Backup, Inventory
from ops_evidence.inventory.restore import RestoreDrill
from ops_evidence.probes.base import ProbeContext, ProbeTarget, entity, make_event, verdict

SCRATCH_FOLDER = "restore-scratch"

log = structlog.get_logger("ops_evidence.probes")


def scratch_root(drill: RestoreDrill, state_dir: Path | None) -> Path:
    """Where the drill folders go: the declared `scratch`, else under the state directory
    (the system temp folder for a context without one, as in tests)."""
    if drill.scratch is not None:
        return drill.scratch
    return (state_dir or Path(tempfile.gettempdir())) / SCRATCH_FOLDER


def _drill_of(backup: Backup) -> RestoreDrill:
    if backup.restore is None:
        raise LookupError(f"backup {backup.id} declares no restore drill")
    return backup.restore


def _declared(backup: Backup, drill: RestoreDrill) -> dict[str, Any]:
    return {
        "backup": backup.id,
        "store": backup.store,
        "tool": backup.check.kind,
        "max_size_bytes": drill.max_size,
        "dry_run": drill.dry_run,
    }


def failure_event(ctx: ProbeContext, target: ProbeTarget, failure: Failure) -> EvidenceEvent:
    """A crash or the backstop: whether the folder went is unknown, so not claimed."""
    backup = entity(ctx.inventory, "backups", target.entity_id, Backup)
    attributes = {**_declared(backup, _drill_of(backup)), "scratch_removed": False}
    return make_event(RestoreTested, ctx, target, {**attributes, **verdict(failure)})


def _observed(outcome: DrillOutcome, started: datetime) -> dict[str, Any]:
    result = outcome.result
    when = result.artifact_time
    return {
        "tool_version": result.tool_version,
        "repository": result.repository,
        "snapshot_id": result.snapshot_id,
        "archive_name": result.archive_name,
        "artifact_time": when,
        "rpo_seconds": round((started - when).total_seconds(), 1) if when else None,
        "duration_seconds": outcome.duration_seconds,
        "files_restored": result.files_restored,
        "bytes_restored": result.bytes_restored,
        "checksums": [
            {"path": c.path, "matched": c.matched, "detail": c.detail} for c in result.checksums
        ],
        "check_result": result.check_result,
        "scratch_removed": outcome.scratch_removed,
    }


async def probe_restore(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Run the backup's drill; verified when it passed and its folder is gone."""
    backup = entity(ctx.inventory, "backups", target.entity_id, Backup)
    drill = _drill_of(backup)
    root = scratch_root(drill, ctx.state_dir)
    name = f"{backup.id}-{ctx.run_id()}"
    started = ctx.now()
    outcome = await run_drill(backup.check, drill, root, name, target.timeout_seconds)
    failure = outcome.result.failure
    if failure is None and not outcome.scratch_removed:
        failure = Failure.of("scratch_not_removed", f"the drill folder under {root} remains")
    attributes = {**_declared(backup, drill), **_observed(outcome, started), **verdict(failure)}
    return make_event(RestoreTested, ctx, target, attributes)


def sweep_leftovers(inventory: Inventory, state_dir: Path | None) -> list[Path]:
    """Remove the drill folders that killed drills left in every drill's scratch."""
    roots = {scratch_root(b.restore, state_dir) for b in inventory.backups if b.restore}
    removed = [folder for root in sorted(roots) for folder in sweep(root)]
    for folder in removed:
        log.warning("restore_scratch_swept", folder=str(folder))
    return removed

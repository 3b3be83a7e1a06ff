"""`ops-backup-verified`: the newest successful backup is recent, plausible in size, not failed.

The readers only report what the tool says; the verdict (age ≤ `max_age`, size ≥ `min_size`
where the tool reports a size, last run not failed) is made here, the same way for every tool.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ops_evidence.checks.backup.base import BackupObservation
from ops_evidence.checks.backup.readers import ReadOptions, read_backup
from ops_evidence.checks.base import Failure
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import BackupVerified
from ops_evidence.inventory.models import Backup
from ops_evidence.probes.base import ProbeContext, ProbeTarget, entity, make_event, verdict


def judge(
    seen: BackupObservation, now: datetime, max_age: timedelta, min_size: int | None
) -> Failure | None:
    """The verdict on one observation; None when the backup is as declared."""
    if seen.failure is not None:
        return seen.failure
    if seen.last_backup_at is None:
        return Failure.of("no_backup", "no backup found")
    if seen.last_run_failed:
        return Failure.of("last_run_failed", "the newest backup run reports an error")
    age = now - seen.last_backup_at
    if age > max_age:
        hours = age.total_seconds() / 3600
        limit = max_age.total_seconds() / 3600
        return Failure.of("too_old", f"newest backup is {hours:.1f}h old (maximum {limit:.1f}h)")
    if min_size is not None and seen.size_bytes is not None and seen.size_bytes < min_size:
        return Failure.of(
            "too_small", f"newest backup is {seen.size_bytes} bytes (minimum {min_size})"
        )
    return None


def _declared(ctx: ProbeContext, backup: Backup) -> dict[str, Any]:
    return {
        "backup": backup.id,
        "store": backup.store,
        "tool": backup.check.kind,
        "max_age_seconds": ctx.inventory.backup_max_age(backup).total_seconds(),
        "min_size_bytes": backup.min_size,
    }


def failure_event(ctx: ProbeContext, target: ProbeTarget, failure: Failure) -> EvidenceEvent:
    backup = entity(ctx.inventory, "backups", target.entity_id, Backup)
    attributes = {**_declared(ctx, backup), **verdict(failure)}
    return make_event(BackupVerified, ctx, target, attributes)


async def probe_backup(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Read the newest backup and judge it against `max_age` and `min_size`."""
    backup = entity(ctx.inventory, "backups", target.entity_id, Backup)
    options = ReadOptions(target.timeout_seconds, ctx.client_factory)
    seen = await read_backup(backup.check, options)
    now = ctx.now()
    failure = judge(seen, now, ctx.inventory.backup_max_age(backup), backup.min_size)
    age = (now - seen.last_backup_at).total_seconds() if seen.last_backup_at else None
    attributes = {
        **_declared(ctx, backup),
        "last_backup_at": seen.last_backup_at,
        "age_seconds": round(age, 1) if age is not None else None,
        "size_bytes": seen.size_bytes,
        "last_run_failed": seen.last_run_failed,
        "backup_count": seen.backup_count,
        "snapshot_id": seen.snapshot_id,
        "archive_name": seen.archive_name,
        **verdict(failure),
    }
    return make_event(BackupVerified, ctx, target, attributes)

"""restic: `--no-lock --no-cache snapshots --json --latest 1`; the password by file or env.

`--no-lock` so a probe never blocks (or is blocked by) a running backup; `--no-cache` so it
writes nothing. restic 0.14 reports no sizes in `snapshots`, so `size_bytes` stays unknown.
"""

from __future__ import annotations

from ops_evidence.checks.backup.base import BackupObservation, parse_time, shape_error, tool_json
from ops_evidence.checks.base import Failure
from ops_evidence.checks.subprocess import run_tool
from ops_evidence.inventory.checks import ResticBackup
from ops_evidence.inventory.secrets import SecretUnavailableError

_AUTH = ("wrong password", "no key found")


def restic_env(check: ResticBackup) -> dict[str, str]:
    """Repository and password through restic's own variables, never argv."""
    env = {"RESTIC_REPOSITORY": check.repository}
    if check.password.file is not None:
        check.password.read()  # registers it for redaction and fails early when unreadable
        env["RESTIC_PASSWORD_FILE"] = str(check.password.file)
    else:
        env["RESTIC_PASSWORD"] = check.password.read()
    return env


async def read_restic(check: ResticBackup, *, timeout: float) -> BackupObservation:
    """The newest snapshot's time and id; never raises."""
    try:
        env = restic_env(check)
    except SecretUnavailableError as exc:
        return BackupObservation(failure=Failure.of("secret_unavailable", str(exc)))
    argv = [check.binary, "--no-lock", "--no-cache", "snapshots", "--json", "--latest", "1"]
    if check.host:
        argv += ["--host", check.host]
    for tag in check.tags:
        argv += ["--tag", tag]
    parsed = tool_json("restic", await run_tool(argv, env=env, timeout=timeout), _AUTH)
    if isinstance(parsed, Failure):
        return BackupObservation(failure=parsed)
    try:
        snapshots = [(parse_time(snapshot["time"]), snapshot) for snapshot in parsed]
    except (KeyError, TypeError, ValueError) as exc:
        return BackupObservation(failure=shape_error("restic", exc))
    if not snapshots:
        return BackupObservation(backup_count=0)
    when, newest = max(snapshots, key=lambda pair: pair[0])
    snapshot_id = newest.get("id") if isinstance(newest, dict) else None
    return BackupObservation(
        last_backup_at=when,
        backup_count=len(snapshots),
        snapshot_id=str(snapshot_id) if snapshot_id is not None else None,
    )

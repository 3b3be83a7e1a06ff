"""borg: `info --json --last 1` (times, size), run with `TZ=UTC` since borg prints local time.

The passphrase goes in `BORG_PASSPHRASE`; borg never prompts because stdin is /dev/null and
`BORG_RELOCATED_REPO_ACCESS_IS_OK=no` refuses instead of asking.
"""

from __future__ import annotations

from ops_evidence.checks.backup.base import BackupObservation, parse_time, shape_error, tool_json
from ops_evidence.checks.base import Failure
from ops_evidence.checks.subprocess import run_tool
from ops_evidence.inventory.checks import BorgBackup
from ops_evidence.inventory.secrets import SecretUnavailableError

_AUTH = ("passphrase", "passcommand")


def borg_env(check: BorgBackup) -> dict[str, str]:
    """Repository, passphrase and non-interactive answers through borg's variables."""
    env = {
        "BORG_REPO": check.repository,
        "TZ": "UTC",
        "BORG_RELOCATED_REPO_ACCESS_IS_OK": "no",
        "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "no",
        # Without it an error ends in borg's system report, and that last line is what a
        # failure's message shows; with it, the error itself (`Data integrity error: …`).
        "BORG_SHOW_SYSINFO": "no",
    }
    if check.passphrase is not None:
        env["BORG_PASSPHRASE"] = check.passphrase.read()
    return env


async def read_borg(check: BorgBackup, *, timeout: float) -> BackupObservation:
    """The newest archive's end time, original size, id and name; never raises."""
    try:
        env = borg_env(check)
    except SecretUnavailableError as exc:
        return BackupObservation(failure=Failure.of("secret_unavailable", str(exc)))
    argv = [check.binary, "info", "--json", "--last", "1"]
    parsed = tool_json("borg", await run_tool(argv, env=env, timeout=timeout), _AUTH)
    if isinstance(parsed, Failure):
        return BackupObservation(failure=parsed)
    try:
        archives = parsed["archives"]
        if not archives:
            return BackupObservation(backup_count=0)
        newest = max(archives, key=lambda a: parse_time(a.get("end") or a["start"]))
        when = parse_time(newest.get("end") or newest["start"])
        size = int(newest["stats"]["original_size"]) if "stats" in newest else None
    except (KeyError, TypeError, ValueError) as exc:
        return BackupObservation(failure=shape_error("borg", exc))
    return BackupObservation(
        last_backup_at=when,
        size_bytes=size,
        backup_count=len(archives),
        snapshot_id=_text(newest.get("id")),
        archive_name=_text(newest.get("name")),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)

"""pgBackRest: `info --output=json` for one stanza: status code, newest stop time, error, size."""

from __future__ import annotations

from typing import Any

from ops_evidence.checks.backup.base import BackupObservation, parse_time, shape_error, tool_json
from ops_evidence.checks.base import Failure
from ops_evidence.checks.subprocess import run_tool
from ops_evidence.inventory.checks import PgBackRestBackup

# pgBackRest status codes that still allow a verdict from the backup list.
_STATUS_OK = 0
_NO_VALID_BACKUP = 2


def observation_from_info(stanzas: Any, stanza: str) -> BackupObservation:
    """Interpret parsed `pgbackrest info --output=json` for `stanza`."""
    try:
        entry = next(s for s in stanzas if s["name"] == stanza)
        code, message = int(entry["status"]["code"]), str(entry["status"]["message"])
        backups = list(entry.get("backup") or [])
        if code not in (_STATUS_OK, _NO_VALID_BACKUP):
            return BackupObservation(
                failure=Failure.of("backup_status", f"stanza {stanza}: {message} (code {code})")
            )
        if not backups:
            return BackupObservation(backup_count=0)
        newest = max(backups, key=lambda b: int(b["timestamp"]["stop"]))
        info = newest.get("info") or {}
        size = info.get("repository", {}).get("size", info.get("size"))
        return BackupObservation(
            last_backup_at=parse_time(int(newest["timestamp"]["stop"])),
            size_bytes=int(size) if size is not None else None,
            last_run_failed=bool(newest.get("error", False)),
            backup_count=len(backups),
            archive_name=str(newest["label"]) if "label" in newest else None,
        )
    except StopIteration:
        return BackupObservation(failure=Failure.of("stanza_missing", f"no stanza {stanza}"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return BackupObservation(failure=shape_error("pgbackrest", exc))


async def read_pgbackrest(check: PgBackRestBackup, *, timeout: float) -> BackupObservation:
    """Run `pgbackrest info` for the stanza and interpret it; never raises."""
    argv = [check.binary, f"--stanza={check.stanza}", "--output=json"]
    if check.config is not None:
        argv.append(f"--config={check.config}")
    argv.append("info")
    parsed = tool_json("pgbackrest", await run_tool(argv, timeout=timeout), ())
    if isinstance(parsed, Failure):
        return BackupObservation(failure=parsed)
    return observation_from_info(parsed, check.stanza)

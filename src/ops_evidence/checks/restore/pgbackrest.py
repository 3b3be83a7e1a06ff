"""pgBackRest: `verify` the stanza's repository (every backup file and WAL segment checksummed).

The newest backup's label and stop time come from `info`, as for the reader. A restore into
scratch with the server started on a private socket is not done yet: PostgreSQL refuses to
run as root and must own its data directory, so it needs the drill to switch users
(docs/operations.md, "Restore drills").
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ops_evidence.checks.backup.pgbackrest import read_pgbackrest
from ops_evidence.checks.base import Failure
from ops_evidence.checks.restore.base import RestoreResult, tool_version, unreadable
from ops_evidence.checks.subprocess import run_tool
from ops_evidence.inventory.checks import PgBackRestBackup
from ops_evidence.inventory.restore import RestoreDrill


async def restore_pgbackrest(
    check: PgBackRestBackup, _drill: RestoreDrill, _target: Path, timeout: float
) -> RestoreResult:
    """Verify the repository of the stanza; never raises."""
    found = RestoreResult(
        tool_version=await tool_version([check.binary, "version"], timeout=timeout),
        repository=check.stanza,
    )
    seen = await read_pgbackrest(check, timeout=timeout)
    if seen.failure is not None or seen.archive_name is None:
        failure = unreadable(seen.failure) if seen.failure else None
        return replace(found, failure=failure or Failure.of("no_backup", "no backup found"))
    found = replace(found, archive_name=seen.archive_name, artifact_time=seen.last_backup_at)
    argv = [check.binary, f"--stanza={check.stanza}"]
    if check.config is not None:
        argv.append(f"--config={check.config}")
    result = await run_tool([*argv, "verify"], timeout=timeout)
    if result.failure is not None:
        return replace(found, failure=result.failure)
    if result.returncode != 0:
        message = f"pgbackrest verify exited {result.returncode}: {result.stderr_line}"
        return replace(found, failure=Failure.of("verify_failed", message))
    return replace(found, check_result="verify: every backup file and WAL segment checksummed")

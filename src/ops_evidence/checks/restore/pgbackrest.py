"""pgBackRest: `verify` the stanza's repository (every backup file and WAL segment
checksummed); with a declared `sanity_query`, also restore the newest backup into scratch,
start PostgreSQL on it (`postgres.py`: a private socket, no TCP) and run the query.

The newest backup's label, stop time and size (`info.size`, the database's size: what a
restore writes) come from `info --output=json`, as for the reader; the size is checked
against `max_size` and the scratch's free space before restoring. The restore
is `--type=immediate --target-action=promote` (recover to the backup's consistent point,
then open) with `--pg1-path` pointing at scratch and `--tablespace-map-all` at the drill
folder's `tablespaces/`, so neither the stanza's live data directory nor a tablespace's
original location is written. PostgreSQL refuses to run as root: a service running as root declares
`run_as` (e.g. `postgres`), and the drill folder is handed to that user.
"""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

from ops_evidence.checks.backup.base import BackupObservation, tool_json
from ops_evidence.checks.backup.pgbackrest import observation_from_info
from ops_evidence.checks.base import Failure
from ops_evidence.checks.restore.base import (
    RestoreResult,
    exited,
    no_newest,
    refuse_size,
    tool_version,
)
from ops_evidence.checks.restore.postgres import Runner, pg_bin_folder, sanity_query, started
from ops_evidence.checks.restore.scratch import count_files
from ops_evidence.checks.subprocess import run_tool
from ops_evidence.inventory.checks import PgBackRestBackup
from ops_evidence.inventory.restore import RestoreDrill


def _base(check: PgBackRestBackup) -> list[str]:
    argv = [check.binary, f"--stanza={check.stanza}"]
    return [*argv, f"--config={check.config}"] if check.config is not None else argv


def newest_size(stanzas: Any, stanza: str) -> int | None:
    """The newest backup's `info.size` in parsed `info --output=json` (None if unreadable)."""
    try:
        entry = next(s for s in stanzas if s["name"] == stanza)
        newest = max(entry.get("backup") or [], key=lambda b: int(b["timestamp"]["stop"]))
        return int(newest["info"]["size"])
    except (StopIteration, KeyError, TypeError, ValueError, AttributeError):
        return None


async def _read(check: PgBackRestBackup, timeout: float) -> tuple[BackupObservation, int | None]:
    # One `info` run for both: what the reader sees, and the restore's size.
    argv = [*_base(check), "--output=json", "info"]
    parsed = tool_json("pgbackrest", await run_tool(argv, timeout=timeout), ())
    if isinstance(parsed, Failure):
        return BackupObservation(failure=parsed), None
    return observation_from_info(parsed, check.stanza), newest_size(parsed, check.stanza)


async def restore_pgbackrest(
    check: PgBackRestBackup, drill: RestoreDrill, target: Path, timeout: float
) -> RestoreResult:
    """Verify the repository of the stanza (and restore and query it); never raises."""
    found = RestoreResult(
        tool_version=await tool_version([check.binary, "version"], timeout=timeout),
        repository=check.stanza,
    )
    seen, size = await _read(check, timeout)
    if failure := no_newest(seen, seen.archive_name, "no backup found"):
        return replace(found, failure=failure)
    found = replace(found, archive_name=seen.archive_name, artifact_time=seen.last_backup_at)
    result = await run_tool([*_base(check), "verify"], timeout=timeout)
    if failure := exited("pgbackrest verify", result, "verify_failed"):
        return replace(found, failure=failure)
    found = replace(found, check_result="verify: every backup file and WAL segment checksummed")
    if drill.sanity_query is None:
        return found
    if size is not None and (refused := refuse_size(size, drill.max_size, target)):
        return replace(found, failure=refused)
    return await _restore_and_query(check, drill, target, Runner(drill.run_as, timeout), found)


def tablespaces(target: Path) -> Path:
    """Where the restore puts every tablespace: inside the drill folder, never where the
    backed-up cluster kept them (pgBackRest's default)."""
    return target.parent / "tablespaces"


def restore_argv(check: PgBackRestBackup, target: Path, label: str) -> list[str]:
    """`pgbackrest restore` of backup `label` into `target`, its tablespaces beside it."""
    argv = [*_base(check), f"--pg1-path={target}", f"--tablespace-map-all={tablespaces(target)}"]
    argv += [f"--set={label}", "--type=immediate", "--target-action=promote"]
    return [*argv, "--archive-mode=off", "restore"]


def _hand_over(target: Path, runner: Runner) -> None:
    # The user must reach the drill folder: the scratch root gets search (not read) for others.
    root = target.parent.parent
    root.chmod(root.stat().st_mode | stat.S_IXGRP | stat.S_IXOTH)
    tablespaces(target).mkdir(mode=0o700)
    runner.give(target.parent, target, tablespaces(target))


async def _restore_and_query(
    check: PgBackRestBackup, drill: RestoreDrill, target: Path, runner: Runner, found: RestoreResult
) -> RestoreResult:
    bin_dir = pg_bin_folder(drill.pg_bin)
    if bin_dir is None:
        return replace(found, failure=Failure.of("tool_missing", "no PostgreSQL bin folder"))
    _hand_over(target, runner)
    result = await runner.run(restore_argv(check, target, found.archive_name or ""))
    if result.failure is not None or result.returncode != 0:
        line = result.failure.message if result.failure else result.stderr_line
        return replace(found, failure=Failure.of("restore_failed", f"pgbackrest restore: {line}"))
    files, restored = await count_files(target)
    found = replace(found, files_restored=files, bytes_restored=restored)
    async with started(target, bin_dir, runner) as socket_dir:
        if isinstance(socket_dir, Failure):
            return replace(found, failure=socket_dir)
        rows, failure = await sanity_query(
            bin_dir, socket_dir, drill.database, drill.sanity_query or "", runner
        )
    said = f"{found.check_result}; restored {found.archive_name}, sanity query: {rows} rows"
    return replace(found, check_result=said, failure=failure)

"""restic: restore the newest snapshot (or its declared include set) into scratch, verify.

The snapshot is pinned by id (read first, as `ops-backup-verified` reads it), so a backup
finishing meanwhile does not change what is restored. Before: `stats <id> --mode
restore-size` against `max_size`. The restore runs with `--verify` (restic reads every
restored file back against the snapshot); with no include set the restored bytes must also
equal the restore size. Optionally `check --read-data-subset`. `--no-lock` on the reads so
a drill never blocks a running backup; `check` takes restic's own lock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ops_evidence.checks.backup.base import tool_json
from ops_evidence.checks.backup.restic import read_restic, restic_env
from ops_evidence.checks.base import Failure
from ops_evidence.checks.restore.base import (
    RestoreResult,
    checksum_failure,
    compare_checksums,
    exit_failure,
    no_newest,
    refuse_size,
    tool_version,
    unreadable,
)
from ops_evidence.checks.restore.scratch import count_files
from ops_evidence.checks.subprocess import ToolResult, run_tool
from ops_evidence.inventory.checks import ResticBackup
from ops_evidence.inventory.restore import RestoreDrill
from ops_evidence.inventory.secrets import SecretUnavailableError

AUTH_MARKERS = ("wrong password", "no key found")


@dataclass(frozen=True, slots=True)
class _Run:
    check: ResticBackup
    drill: RestoreDrill
    env: dict[str, str]
    target: Path
    timeout: float

    async def tool(self, *args: str) -> ToolResult:
        return await run_tool([self.check.binary, *args], env=self.env, timeout=self.timeout)


async def _restore_size(run: _Run, snapshot: str) -> int | Failure:
    argv = ["--no-lock", "--no-cache", "stats", snapshot, "--mode", "restore-size", "--json"]
    parsed = tool_json("restic", await run.tool(*argv), AUTH_MARKERS)
    if isinstance(parsed, Failure):
        return unreadable(parsed)
    try:
        return int(parsed["total_size"])
    except (KeyError, TypeError, ValueError):
        return Failure.of("bad_json", "restic stats: no total_size")


async def _check_subset(run: _Run, subset: str, found: RestoreResult) -> RestoreResult:
    result = await run.tool("--no-cache", "check", f"--read-data-subset={subset}")
    failure = exit_failure("restic", result, AUTH_MARKERS)
    if failure is not None:
        if failure.reason == "restore_failed":
            failure = Failure.of("check_failed", f"restic check: {result.stderr_line}")
        return replace(found, failure=failure)
    said = f"{found.check_result}; check --read-data-subset={subset}: no errors"
    return replace(found, check_result=said)


async def restore_restic(
    check: ResticBackup, drill: RestoreDrill, target: Path, timeout: float
) -> RestoreResult:
    """Restore, verify and sample the newest snapshot; never raises."""
    try:
        env = restic_env(check)
    except SecretUnavailableError as exc:
        return RestoreResult(failure=Failure.of("secret_unavailable", str(exc)))
    found = RestoreResult(
        tool_version=await tool_version([check.binary, "version"], timeout=timeout),
        repository=check.repository,
    )
    seen = await read_restic(check, timeout=timeout)
    if failure := no_newest(seen, seen.snapshot_id, "no snapshot found"):
        return replace(found, failure=failure)
    assert seen.snapshot_id is not None
    found = replace(found, snapshot_id=seen.snapshot_id, artifact_time=seen.last_backup_at)
    run = _Run(check, drill, env, target, timeout)
    size = await _restore_size(run, seen.snapshot_id)
    if isinstance(size, Failure):
        return replace(found, failure=size)
    # With an include set the restore is a part of `size`: only the watcher bounds it.
    if not drill.include and (refused := refuse_size(size, drill.max_size, target)):
        return replace(found, failure=refused)
    found = await _restore(run, seen.snapshot_id, size, found)
    if found.failure is None and drill.read_data_subset:
        found = await _check_subset(run, drill.read_data_subset, found)
    return found


async def _restore(run: _Run, snapshot: str, size: int, found: RestoreResult) -> RestoreResult:
    argv = ["--no-lock", "--no-cache", "restore", snapshot, "--target", str(run.target)]
    for pattern in run.drill.include:
        argv += ["--include", pattern]
    result = await run.tool(*argv, "--verify")
    if failure := exit_failure("restic", result, AUTH_MARKERS):
        return replace(found, failure=failure)
    files, restored = await count_files(run.target)
    said = f"restore --verify: {files} files read back"
    found = replace(found, files_restored=files, bytes_restored=restored, check_result=said)
    if not run.drill.include and restored != size:
        message = f"restored {restored} bytes, the snapshot holds {size}"
        return replace(found, failure=Failure.of("restore_incomplete", message))
    checksums = await compare_checksums(list(run.drill.verify_checksums), run.target)
    return replace(found, checksums=checksums, failure=checksum_failure(checksums))

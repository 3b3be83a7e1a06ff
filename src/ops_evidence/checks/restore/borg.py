"""borg: `extract` the newest archive into scratch (cwd = the drill folder), or `--dry-run`.

borg authenticates every chunk it reads (the archive's HMAC-ed ids, encrypted chunks), so
an extract that exits 0 read the archive whole; the restored bytes must then equal the
archive's original size. `--dry-run` (only where declared) reads and checks the chunks
without writing a file. The passphrase goes in `BORG_PASSPHRASE`, as for the reader.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ops_evidence.checks.backup.borg import borg_env, read_borg
from ops_evidence.checks.base import Failure
from ops_evidence.checks.restore.base import (
    RestoreResult,
    checksum_failure,
    compare_checksums,
    exit_failure,
    no_newest,
    refuse_size,
    tool_version,
)
from ops_evidence.checks.restore.scratch import count_files
from ops_evidence.checks.subprocess import run_tool
from ops_evidence.inventory.checks import BorgBackup
from ops_evidence.inventory.restore import RestoreDrill
from ops_evidence.inventory.secrets import SecretUnavailableError

AUTH_MARKERS = ("passphrase", "passcommand")


async def restore_borg(
    check: BorgBackup, drill: RestoreDrill, target: Path, timeout: float
) -> RestoreResult:
    """Extract and check the newest archive; never raises."""
    try:
        env = borg_env(check)
    except SecretUnavailableError as exc:
        return RestoreResult(failure=Failure.of("secret_unavailable", str(exc)))
    found = RestoreResult(
        tool_version=await tool_version([check.binary, "--version"], timeout=timeout),
        repository=check.repository,
    )
    seen = await read_borg(check, timeout=timeout)
    if failure := no_newest(seen, seen.archive_name, "no archive found"):
        return replace(found, failure=failure)
    found = replace(
        found,
        snapshot_id=seen.snapshot_id,
        archive_name=seen.archive_name,
        artifact_time=seen.last_backup_at,
    )
    size = seen.size_bytes
    refused = None if drill.dry_run or size is None else refuse_size(size, drill.max_size, target)
    if refused is not None:
        return replace(found, failure=refused)
    return await _extract(check, drill, env, target, found, timeout=timeout, size=size)


async def _extract(
    check: BorgBackup,
    drill: RestoreDrill,
    env: dict[str, str],
    target: Path,
    found: RestoreResult,
    *,
    timeout: float,
    size: int | None,
) -> RestoreResult:
    dry_run = ["--dry-run"] if drill.dry_run else []
    argv = [check.binary, "extract", *dry_run, f"::{found.archive_name}"]
    result = await run_tool(argv, env=env, timeout=timeout, cwd=target)
    if failure := exit_failure("borg", result, AUTH_MARKERS):
        return replace(found, failure=failure)
    if drill.dry_run:
        return replace(found, check_result="extract --dry-run: every chunk read and authenticated")
    files, restored = await count_files(target)
    said = f"extract: {files} files, every chunk authenticated"
    found = replace(found, files_restored=files, bytes_restored=restored, check_result=said)
    if size is not None and restored != size:
        message = f"restored {restored} bytes, the archive holds {size}"
        return replace(found, failure=Failure.of("restore_incomplete", message))
    checksums = await compare_checksums(list(drill.verify_checksums), target)
    return replace(found, checksums=checksums, failure=checksum_failure(checksums))

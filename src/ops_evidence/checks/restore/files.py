"""Files: copy the newest backup file into scratch and test that copy's integrity.

The copy is tested with `gzip -t` or `zstd -t` (each reads the stream to its end and checks
its CRC or checksum; nothing decompressed is written, so no inflate limit applies), as a
subprocess that the timeout or a cancellation kills. A declared `command` runs on the copy
(argv, the copy's path appended; never a shell), so a command cannot change the live backup.
A file that is neither, with no command, cannot be tested: that is a failure, not a pass.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread

from ops_evidence.checks.base import Failure
from ops_evidence.checks.restore.base import RestoreResult, exited, refuse_size
from ops_evidence.checks.subprocess import run_tool
from ops_evidence.inventory.checks import FilesBackup
from ops_evidence.inventory.restore import RestoreDrill


def _newest(check: FilesBackup) -> Path | None:
    files = [p for p in check.path.glob(check.pattern) if p.is_file()]
    return max(files, key=lambda p: p.stat().st_mtime) if files else None


async def _test(tool: str, copy: Path, timeout: float) -> tuple[str | None, Failure | None]:
    result = await run_tool([tool, "-q", "-t", str(copy)], timeout=timeout)
    if result.failure is not None:
        return None, result.failure
    if result.returncode != 0:
        return None, Failure.of("integrity_failed", f"{tool} -t: {result.stderr_line}")
    return f"{tool} -t: ok", None


async def _integrity(copy: Path, timeout: float) -> tuple[str | None, Failure | None]:
    tool = {".gz": "gzip", ".zst": "zstd"}.get(copy.suffix)
    return await _test(tool, copy, timeout) if tool else (None, None)


async def _command(copy: Path, argv: list[str], timeout: float) -> Failure | None:
    result = await run_tool([*argv, str(copy)], timeout=timeout, cwd=copy.parent)
    return exited(argv[0], result, "command_failed")


async def restore_files(
    check: FilesBackup, drill: RestoreDrill, target: Path, timeout: float
) -> RestoreResult:
    """Copy the newest file, test it; never raises."""
    found = RestoreResult(repository=str(check.path))
    try:
        newest = await anyio.to_thread.run_sync(_newest, check)
        if newest is None:
            return replace(found, failure=Failure.of("no_backup", "no backup file found"))
        stat = newest.stat()
        found = replace(
            found,
            archive_name=newest.name,
            artifact_time=datetime.fromtimestamp(stat.st_mtime, UTC),
        )
        if refused := refuse_size(stat.st_size, drill.max_size, target):
            return replace(found, failure=refused)
        copy = Path(await anyio.to_thread.run_sync(shutil.copy2, newest, target / newest.name))
    except OSError as exc:
        return replace(found, failure=Failure.of("io_error", f"{check.path}: {exc.strerror}"))
    found = replace(found, files_restored=1, bytes_restored=stat.st_size)
    said, failure = await _integrity(copy, timeout)
    if failure is None and drill.command:
        failure = await _command(copy, drill.command, timeout)
        said = "; ".join(filter(None, [said, f"{drill.command[0]}: exit 0"]))
    if failure is None and said is None:
        failure = Failure.of("untestable", "neither gzip nor zstd, and no command declared")
    return replace(found, check_result=said, failure=failure)

"""What every restorer reports, and the checks they share (tool version, size, checksums)."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import anyio.to_thread

from ops_evidence.checks.backup.base import BackupObservation
from ops_evidence.checks.base import Failure
from ops_evidence.checks.subprocess import ToolResult, run_tool

# Reason for a restore that grew, or would grow, past `max_size`.
OVER_MAX_SIZE = "over_max_size"
# Free space a restore must leave on the scratch volume: 256 MiB, or 5% of the volume when
# that is less (a small volume). The default scratch shares the state directory's volume,
# where the outbox must keep room to write.
RESERVE_BYTES = 256 * 2**20
RESERVE_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Checksum:
    """A declared source file against its restored copy."""

    path: str
    matched: bool
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restorer did and found; `failure` when the drill did not pass."""

    tool_version: str | None = None
    repository: str | None = None
    snapshot_id: str | None = None
    archive_name: str | None = None
    artifact_time: datetime | None = None
    files_restored: int | None = None
    bytes_restored: int | None = None
    checksums: tuple[Checksum, ...] = field(default=())
    check_result: str | None = None
    failure: Failure | None = None


def unreadable(failure: Failure) -> Failure:
    """A tool that could not read the backup (not a credential or timeout problem) failed the
    restore: the same reason whichever step of the drill found it."""
    if failure.reason in ("tool_failed", "bad_json"):
        return Failure.of("restore_failed", failure.message)
    return failure


def exited(label: str, result: ToolResult, reason: str) -> Failure | None:
    """None when the tool ran and exited 0; else its own failure (timeout, missing …) or
    `reason`, e.g. `pgbackrest verify exited 1: <its last error line>`."""
    if result.failure is not None or result.returncode == 0:
        return result.failure
    return Failure.of(reason, f"{label} exited {result.returncode}: {result.stderr_line}")


def exit_failure(tool: str, result: ToolResult, auth_markers: tuple[str, ...]) -> Failure | None:
    """None when the restoring tool exited 0; else `auth_failed` when its error line names
    the credentials, `restore_failed` otherwise (the tool could not read the backup)."""
    line = result.stderr_line.lower()
    if result.failure is None and result.returncode != 0 and any(m in line for m in auth_markers):
        return Failure.of("auth_failed", f"{tool}: {result.stderr_line}")
    return exited(tool, result, "restore_failed")


def no_newest(seen: BackupObservation, newest: str | None, missing: str) -> Failure | None:
    """Why there is nothing to restore (the backup's newest entry could not be read, or there
    is none), or None when `newest` names it."""
    if seen.failure is not None:
        return unreadable(seen.failure)
    return Failure.of("no_backup", missing) if newest is None else None


def too_large(size: int, limit: int) -> Failure:
    """The restore size the tool reports is over the drill's limit."""
    return Failure.of(OVER_MAX_SIZE, f"scratch over max_size: restore is {size} bytes ({limit})")


def reserve(total: int) -> int:
    """The free bytes a restore must leave on a volume of `total` bytes."""
    return min(RESERVE_BYTES, int(total * RESERVE_SHARE))


def refuse_size(size: int, limit: int, target: Path) -> Failure | None:
    """Why a restore of `size` bytes into `target` must not start: over the drill's
    `max_size`, or more than the scratch volume's free space less the reserve."""
    if size > limit:
        return too_large(size, limit)
    try:
        usage = shutil.disk_usage(target)
    except OSError as exc:
        return Failure.of("scratch_unavailable", f"{target}: {exc.strerror}")
    keep = reserve(usage.total)
    if usage.free < size + keep:
        message = (
            f"no space in scratch: restore is {size} bytes, {usage.free} free"
            f" and {keep} must stay free"
        )
        return Failure.of("no_space", message)
    return None


async def tool_version(argv: list[str], *, timeout: float) -> str | None:
    """The version word of `<tool> version` output (`restic 0.14.0 compiled …` -> 0.14.0)."""
    result = await run_tool(argv, timeout=timeout)
    if result.failure is not None or result.returncode != 0:
        return None
    words = result.stdout.decode("utf-8", "replace").split()
    return words[1] if len(words) > 1 else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _compare(source: Path, target: Path) -> Checksum:
    # restic and borg both restore an absolute source path below the target, slash dropped.
    copy = target / source.relative_to("/")
    # A restored link to an absolute path would compare the live file with itself.
    if not copy.resolve().is_relative_to(target.resolve()):
        return Checksum(str(source), matched=False, detail="outside the restore (symlink)")
    try:
        matched = _sha256(source) == _sha256(copy)
    except FileNotFoundError as exc:
        return Checksum(str(source), matched=False, detail=f"missing: {exc.filename}")
    except OSError as exc:
        return Checksum(str(source), matched=False, detail=f"unreadable: {exc.strerror}")
    return Checksum(str(source), matched, None if matched else "sha256 differs")


async def compare_checksums(sources: list[Path], target: Path) -> tuple[Checksum, ...]:
    """Each declared source file's sha256 against its restored copy (in a worker thread)."""
    return tuple([await anyio.to_thread.run_sync(_compare, source, target) for source in sources])


def checksum_failure(checksums: tuple[Checksum, ...]) -> Failure | None:
    """A failure naming the first sampled file whose copy differs, if any."""
    bad = [c for c in checksums if not c.matched]
    if not bad:
        return None
    return Failure.of("checksum_mismatch", f"{len(bad)} sampled file(s) differ: {bad[0].path}")

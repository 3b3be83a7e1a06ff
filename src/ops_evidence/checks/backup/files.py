"""Files: the newest file matching a glob in a backup folder, its age and size."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread

from ops_evidence.checks.backup.base import BackupObservation
from ops_evidence.checks.base import Failure
from ops_evidence.checks.errors import plain_words
from ops_evidence.inventory.checks import FilesBackup


def _newest(folder: Path, pattern: str) -> BackupObservation:
    if not folder.is_dir():
        return BackupObservation(failure=Failure.of("path_missing", f"{folder} is not a folder"))
    stats = [(p.stat(), p) for p in folder.glob(pattern) if p.is_file()]
    if not stats:
        return BackupObservation(backup_count=0)
    stat, _ = max(stats, key=lambda item: item[0].st_mtime)
    return BackupObservation(
        last_backup_at=datetime.fromtimestamp(stat.st_mtime, UTC),
        size_bytes=stat.st_size,
        backup_count=len(stats),
    )


async def read_files(check: FilesBackup) -> BackupObservation:
    """Scan the folder in a worker thread (a large folder must not block the loop)."""
    try:
        return await anyio.to_thread.run_sync(_newest, check.path, check.pattern)
    except OSError as exc:
        return BackupObservation(failure=Failure.of("io_error", plain_words(exc)))

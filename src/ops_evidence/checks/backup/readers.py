"""The backup reader seam: one call for every tool, chosen by the check's `kind`.

Each tool's reader takes what it needs (files scan in a worker thread and take no timeout;
only http opens an HTTP client); the adapters here give them one signature, so the probe
calls `read_backup` and a new tool is one module plus one `READERS` entry. Every reader
reports a `BackupObservation` and never raises: a failure is data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from ops_evidence.checks.backup.base import BackupObservation
from ops_evidence.checks.backup.borg import read_borg
from ops_evidence.checks.backup.files import read_files
from ops_evidence.checks.backup.http import read_http
from ops_evidence.checks.backup.pgbackrest import read_pgbackrest
from ops_evidence.checks.backup.restic import read_restic
from ops_evidence.checks.http import ClientFactory, fresh_client
from ops_evidence.inventory.checks import (
    BackupCheck,
    BorgBackup,
    FilesBackup,
    HttpBackup,
    PgBackRestBackup,
    ResticBackup,
)


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What a reader may use besides its check: the time budget and the HTTP clients."""

    timeout: float
    client_factory: ClientFactory = fresh_client


# The check's own type is the key's (`READERS[check.kind]`), which a mapping cannot say.
BackupReader = Callable[[Any, ReadOptions], Awaitable[BackupObservation]]


async def _restic(check: ResticBackup, options: ReadOptions) -> BackupObservation:
    return await read_restic(check, timeout=options.timeout)


async def _borg(check: BorgBackup, options: ReadOptions) -> BackupObservation:
    return await read_borg(check, timeout=options.timeout)


async def _pgbackrest(check: PgBackRestBackup, options: ReadOptions) -> BackupObservation:
    return await read_pgbackrest(check, timeout=options.timeout)


async def _files(check: FilesBackup, _options: ReadOptions) -> BackupObservation:
    # A folder scan runs no tool: there is nothing to give the budget to.
    return await read_files(check)


async def _http(check: HttpBackup, options: ReadOptions) -> BackupObservation:
    return await read_http(check, timeout=options.timeout, client_factory=options.client_factory)


# One reader per inventory `check.kind` of a backup (a test holds it to BackupCheck).
READERS: Final[dict[str, BackupReader]] = {
    "restic": _restic,
    "borg": _borg,
    "pgbackrest": _pgbackrest,
    "files": _files,
    "http": _http,
}


async def read_backup(check: BackupCheck, options: ReadOptions) -> BackupObservation:
    """The newest backup as the check's tool (or folder, or endpoint) reports it."""
    return await READERS[check.kind](check, options)

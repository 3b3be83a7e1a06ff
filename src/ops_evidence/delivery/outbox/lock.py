"""The owner's lock: an advisory `flock` on `outbox.lock` beside the outbox.

A process that releases every lease when it opens the outbox (`run`, `outbox drain`) must be
the outbox's only such process: releasing a running service's leases lets its in-flight
deliveries be claimed and sent a second time. `run` holds the lock for its lifetime and
`drain` for its own; either refuses to start (`OutboxBusyError`, exit 75) while the other
holds it. `run --once` takes it when free and otherwise works beside the owner without
releasing its leases. `outbox stats`, `list`, `export` and `replay` never release leases
and never take it. The kernel drops the lock when its process dies (even by `kill -9`), so
a crash never leaves the outbox locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ops_evidence.errors import OutboxBusyError, OutboxError

LOCK_FILE = "outbox.lock"


def try_lock(state_dir: Path) -> int | None:
    """The locked file's descriptor, or None while another process holds the lock.

    Raises OutboxError when the lock file cannot be created or opened.
    """
    path = state_dir / LOCK_FILE
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise OutboxError(f"outbox lock {path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError as exc:
        os.close(fd)
        raise OutboxError(f"outbox lock {path}: {exc.strerror or exc}") from None
    return fd


def unlock(fd: int | None) -> None:
    """Release a lock from `try_lock` (None: nothing held)."""
    if fd is not None:
        os.close(fd)  # closing the only descriptor releases the flock


@contextmanager
def owning(state_dir: Path, command: str) -> Iterator[None]:
    """Hold the owner's lock for the block, or raise OutboxBusyError naming `command`."""
    fd = try_lock(state_dir)
    if fd is None:
        raise OutboxBusyError(
            f"{command}: another ops-evidence process (`run` or `outbox drain`) is using the "
            f"outbox in {state_dir}; stop it first, or use `outbox replay` beside a running "
            "service (it delivers replayed rows itself)"
        )
    try:
        yield
    finally:
        unlock(fd)

"""The drill folder: `<scratch>/ops-evidence-drill-<backup>-<run>/`, marked, measured, removed.

The marker file holds the drilling process's pid and its start time (field 22 of
`/proc/<pid>/stat`). A drill killed outright (SIGKILL, a lost node) cannot remove its
folder, so the next start sweeps the scratch: it removes only marked folders whose process
is gone, never anything else found there, and never a running drill's. The start time is
what tells a restarted container's pid 1 from the pid 1 that made the folder: a folder is
abandoned when its pid has no `/proc` entry or that process started at another time.

A folder is never visible unmarked: it is made under a staging name that itself carries the
pid and start time (`.ops-evidence-drill-new-<pid>-<start>-<name>`), marked (the marker
written under a temp name, then renamed), and only then renamed to its drill name; the sweep
reads a staging folder's name as its marker.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
import structlog

PREFIX = "ops-evidence-drill-"
MARKER = ".ops-evidence-drill"
STAGING = ".ops-evidence-drill-new-"
log = structlog.get_logger("ops_evidence.checks")
_STAGED = re.compile(rf"^{re.escape(STAGING)}(\d+)-(\d+)-")


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`),
    or None when the pid has no `/proc` entry."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (the command) is in parentheses and may hold spaces: count from after it.
    fields = text.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


@functools.cache
def _started(pid: int) -> str:
    # Read once per process: its start time never changes ("0" without a /proc to read).
    return start_time(pid) or "0"


def own_identity() -> tuple[int, str]:
    """This process's pid and start time, as its markers hold them."""
    return os.getpid(), _started(os.getpid())


@dataclass(frozen=True, slots=True)
class DrillPlace:
    """One drill's folder and, inside it, where the restore writes."""

    folder: Path

    @property
    def target(self) -> Path:
        """The restore's target folder."""
        return self.folder / "restore"


def _mark(folder: Path) -> None:
    # Temp name then rename: a marker is never seen half written.
    pid, started = own_identity()
    temp = folder / f"{MARKER}.tmp"
    temp.write_text(f"{pid} {started}\n")
    temp.replace(folder / MARKER)


def _make(root: Path, name: str) -> DrillPlace:
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = root / f"{PREFIX}{name}"
    if folder.exists():
        raise FileExistsError(17, "File exists", str(folder))
    pid, started = own_identity()
    staged = root / f"{STAGING}{pid}-{started}-{name}"
    staged.mkdir(mode=0o700)
    _mark(staged)
    (staged / "restore").mkdir()
    staged.rename(folder)
    return DrillPlace(folder)


async def make_place(root: Path, name: str) -> DrillPlace:
    """A fresh, marked drill folder under `root` (made if missing); OSError when it cannot be."""
    return await anyio.to_thread.run_sync(_make, root, name)


def _open_up(folder: Path) -> None:
    # A restore keeps the backed-up modes (0o000, 0o300 folders): every folder, the root
    # first, is made 0700 before it is entered (topdown), so rmtree can list and empty it.
    # Links are never followed: a restored link to a live folder must not be chmod-ed.
    folder.chmod(0o700)
    for _path, dirs, _files, dirfd in os.fwalk(folder, follow_symlinks=False):
        for name in dirs:
            if stat.S_ISDIR(os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode):
                os.chmod(name, 0o700, dir_fd=dirfd)


def remove_folder(folder: Path) -> bool:
    """Remove `folder`; True when it is gone. Never raises: a failure is logged."""
    try:
        if folder.is_symlink() or not folder.exists():
            return not folder.exists()
        _open_up(folder)
        shutil.rmtree(folder)
    except Exception as exc:  # noqa: BLE001 - a drill's removal must report, never raise
        log.warning("restore_scratch_remove_failed", path=str(folder), error=type(exc).__name__)
    return not folder.exists()


async def remove_place(place: DrillPlace) -> bool:
    """Remove the drill folder; True only when it is gone afterwards. Never raises."""
    return await anyio.to_thread.run_sync(remove_folder, place.folder)


def size_of(folder: Path) -> int:
    """Bytes of the regular files under `folder` (links not followed)."""
    total = 0
    for path, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(path, name)).st_size  # noqa: PTH118 - os.walk's strings, hot loop
            except OSError:
                continue  # removed while counting
    return total


def _count(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    # A hard-linked file's bytes once, as the tools count them (borg's original size).
    sizes = {(s.st_dev, s.st_ino): s.st_size for s in (p.stat() for p in files)}
    return len(files), sum(sizes.values())


async def count_files(folder: Path) -> tuple[int, int]:
    """Regular files (each path) and their bytes (each hard-linked file once) under `folder`
    (in a worker thread: a restored data directory has thousands)."""
    return await anyio.to_thread.run_sync(_count, folder)


def _gone(pid: int, started: str) -> bool:
    """The process that wrote (pid, start time) is no longer running: no `/proc` entry for
    the pid, or one that started at another time (the pid reused, as pid 1 after a restart)."""
    return start_time(pid) != started


def _abandoned(folder: Path) -> bool:
    if staged := _STAGED.match(folder.name):
        return _gone(int(staged[1]), staged[2])
    try:
        pid, started = (folder / MARKER).read_text().split()
        return _gone(int(pid), started)
    except FileNotFoundError:
        return False  # not ours: never touched
    except (OSError, ValueError):
        return True  # ours (marked) but unreadable or another format: no live drill wrote it


def _swept(folder: Path) -> bool:
    try:
        if not folder.is_dir() or folder.is_symlink() or not _abandoned(folder):
            return False
    except Exception as exc:  # noqa: BLE001 - one odd entry must not stop the sweep
        log.warning("restore_scratch_remove_failed", path=str(folder), error=type(exc).__name__)
        return False
    return remove_folder(folder)


def sweep(root: Path) -> list[Path]:
    """Remove the drill folders under `root` that a dead process left; the ones removed.
    Never raises: a folder that cannot be read or removed is logged and left."""
    try:
        if not root.is_dir():
            return []
        found = sorted([*root.glob(f"{PREFIX}*"), *root.glob(f"{STAGING}*")])
    except Exception as exc:  # noqa: BLE001 - an unreadable scratch root must not stop a start
        log.warning("restore_scratch_remove_failed", path=str(root), error=type(exc).__name__)
        return []
    return [folder for folder in found if _swept(folder)]

"""The drill folder: `<scratch>/ops-evidence-drill-<backup>-<run>/`, marked, measured, removed.

The marker file holds the drilling process's pid. A drill killed outright (SIGKILL, a lost
node) cannot remove its folder, so the next start sweeps the scratch: it removes only marked
folders whose process is gone, never anything else found there, and never a running drill's.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread

PREFIX = "ops-evidence-drill-"
MARKER = ".ops-evidence-drill"


@dataclass(frozen=True, slots=True)
class DrillPlace:
    """One drill's folder and, inside it, where the restore writes."""

    folder: Path

    @property
    def target(self) -> Path:
        """The restore's target folder."""
        return self.folder / "restore"


def _make(root: Path, name: str) -> DrillPlace:
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = root / f"{PREFIX}{name}"
    folder.mkdir(mode=0o700)
    (folder / MARKER).write_text(f"{os.getpid()}\n")
    place = DrillPlace(folder)
    place.target.mkdir()
    return place


async def make_place(root: Path, name: str) -> DrillPlace:
    """A fresh, marked drill folder under `root` (made if missing); OSError when it cannot be."""
    return await anyio.to_thread.run_sync(_make, root, name)


def _writable_then_retry(function: object, path: str, _exc: object) -> None:
    # A restore keeps the backed-up modes: a read-only folder must be made writable to empty it.
    parent = Path(path).parent
    parent.chmod(parent.stat().st_mode | stat.S_IWUSR | stat.S_IXUSR)
    if callable(function):
        function(path)


def _remove(folder: Path) -> bool:
    if folder.exists():
        shutil.rmtree(folder, onerror=_writable_then_retry)
    return not folder.exists()


async def remove_place(place: DrillPlace) -> bool:
    """Remove the drill folder; True only when it is gone afterwards."""
    try:
        return await anyio.to_thread.run_sync(_remove, place.folder)
    except OSError:
        return not place.folder.exists()


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
    return len(files), sum(p.stat().st_size for p in files)


async def count_files(folder: Path) -> tuple[int, int]:
    """Regular files and their bytes under `folder` (in a worker thread: a restored data
    directory has thousands)."""
    return await anyio.to_thread.run_sync(_count, folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _abandoned(folder: Path) -> bool:
    try:
        pid = int((folder / MARKER).read_text().strip())
    except FileNotFoundError:
        return False  # not ours: never touched
    except (OSError, ValueError):
        return True  # ours (marked) but unreadable: the drill died writing it
    return pid != os.getpid() and not _alive(pid)


def sweep(root: Path) -> list[Path]:
    """Remove the drill folders under `root` that a dead process left; the ones removed."""
    if not root.is_dir():
        return []
    removed = []
    for folder in sorted(root.glob(f"{PREFIX}*")):
        if folder.is_dir() and not folder.is_symlink() and _abandoned(folder) and _remove(folder):
            removed.append(folder)
    return removed

"""The drill seam: `run_drill(check, drill, root, name, timeout)` -> `DrillOutcome`, never raises.

Order: refuse a scratch root that is (or is inside) a live location; make the marked drill
folder; run the tool's restorer while a watcher polls the folder's size and cancels the
restore past `max_size`, and measures it once more when the restorer returns; all of it within
`timeout`. Then, whatever happened (a pass, a
failure, the timeout, the watcher, or the caller's cancellation at shutdown), the folder is
removed under a shielded scope, and the outcome says whether it is gone: the event is built
from the outcome, so `scratch_removed` is only ever true after the removal succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.to_thread

from ops_evidence.checks.base import Failure
from ops_evidence.checks.restore.base import OVER_MAX_SIZE, RestoreResult
from ops_evidence.checks.restore.borg import restore_borg
from ops_evidence.checks.restore.files import restore_files
from ops_evidence.checks.restore.pgbackrest import restore_pgbackrest
from ops_evidence.checks.restore.restic import restore_restic
from ops_evidence.checks.restore.scratch import DrillPlace, make_place, remove_place, size_of
from ops_evidence.inventory.checks import BackupCheck
from ops_evidence.inventory.restore import RestoreDrill, live_locations, unsafe_scratch

# How often the watcher measures the drill folder: a restore writes at most this long past
# `max_size` (at disk speed) before it is cancelled.
WATCH_EVERY = 0.25

# The check's own type is the key's (`RESTORERS[check.kind]`), which a mapping cannot say.
Restorer = Callable[[Any, RestoreDrill, Path, float], Awaitable[RestoreResult]]
RESTORERS: Final[dict[str, Restorer]] = {
    "restic": restore_restic,
    "borg": restore_borg,
    "pgbackrest": restore_pgbackrest,
    "files": restore_files,
}


@dataclass(frozen=True, slots=True)
class DrillOutcome:
    """The restorer's result, how long the drill took, and whether its folder is gone."""

    result: RestoreResult
    duration_seconds: float
    scratch_removed: bool


async def run_drill(
    check: BackupCheck, drill: RestoreDrill, root: Path, name: str, timeout: float
) -> DrillOutcome:
    """One drill in a fresh folder under `root`, the folder removed afterwards."""
    started = time.monotonic()
    live = unsafe_scratch(root, live_locations(check, drill))
    if live is not None:
        message = f"scratch {root} is or sits inside the live location {live}"
        return DrillOutcome(RestoreResult(failure=Failure.of("unsafe_scratch", message)), 0.0, True)
    try:
        place = await make_place(root, name)
    except OSError as exc:
        failure = Failure.of("scratch_unavailable", f"{root}: {exc.strerror}")
        return DrillOutcome(RestoreResult(failure=failure), 0.0, True)
    try:
        result = await _bounded(check, drill, place, timeout)
    finally:
        # Also on cancellation (shutdown, the probe's backstop): the removal must finish.
        with anyio.CancelScope(shield=True):
            removed = await remove_place(place)
    return DrillOutcome(result, round(time.monotonic() - started, 3), removed)


async def _bounded(
    check: BackupCheck, drill: RestoreDrill, place: DrillPlace, timeout: float
) -> RestoreResult:
    over: list[int] = []
    result = RestoreResult(failure=Failure.of("timeout", f"drill did not finish in {timeout}s"))
    with anyio.move_on_after(timeout):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch, place.folder, drill.max_size, over, tg.cancel_scope)
            result = await RESTORERS[check.kind](check, drill, place.target, timeout)
            tg.cancel_scope.cancel()
    if not over:
        # Once more: a restore that finished between two of the watcher's polls.
        size = await anyio.to_thread.run_sync(size_of, place.folder)
        over.extend([size] if size > drill.max_size else [])
    if over:
        message = f"scratch over max_size: {over[0]} bytes written (max {drill.max_size})"
        return replace(result, failure=Failure.of(OVER_MAX_SIZE, message))
    return result


async def _watch(folder: Path, limit: int, over: list[int], scope: anyio.CancelScope) -> None:
    """Measure the folder until cancelled; past `limit`, note the size and cancel the restore."""
    while True:
        size = await anyio.to_thread.run_sync(size_of, folder)
        if size > limit:
            over.append(size)
            scope.cancel()
            return
        await anyio.sleep(WATCH_EVERY)

"""Contract suite for the probe-state stores (memory and SQLite): what was emitted survives a
restart, and a scheduler restarted on the same state does not emit unchanged results again.

Each store is built in `storage` alone: `reopen()` gives a store on the same storage as the
last one, the way a restarted service gets it (SQLite: a new store on the same file; memory:
the same object, as it lives only as long as the process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.schedule.emission_state import (
    MemoryProbeState,
    ProbeStateStore,
    SqliteProbeState,
)
from ops_evidence.schedule.runner import Job, Scheduler
from ops_evidence.schedule.timetable import Emitted
from tests.factories import endpoint_event

pytestmark = pytest.mark.anyio
HEARTBEAT = 3600.0


class Storage:
    """Where one kind of store keeps its state; `reopen` makes the store a restart would."""

    def __init__(self, make: Callable[[], ProbeStateStore]) -> None:
        self._make = make

    def reopen(self) -> ProbeStateStore:
        """A store on the same storage as every earlier one (close those first)."""
        return self._make()


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Every ProbeStateStore implementation, on fresh storage."""
    if request.param == "memory":
        memory = MemoryProbeState()
        return Storage(lambda: memory)
    return Storage(lambda: SqliteProbeState(tmp_path / "state" / "probe-state.sqlite3"))


async def _reopened(storage: Storage, store: ProbeStateStore) -> dict[str, Emitted]:
    """Close `store` (a stop), open a new one on its storage (a start); what it loads."""
    await store.close()
    again = storage.reopen()
    try:
        return await again.open()
    finally:
        await again.close()


async def test_fresh_storage_holds_no_emission(storage: Storage) -> None:
    """A store that never saved anything opens empty."""
    store = storage.reopen()
    assert await store.open() == {}
    await store.close()


async def test_saved_emissions_survive_a_restart_exactly(storage: Storage) -> None:
    """Every saved emission (fingerprint and time, to the float) is loaded after a restart."""
    store = storage.reopen()
    await store.open()
    await store.save("endpoint:a", Emitted("f-a", 1_700_000_000.123456))
    await store.save("backup:b", Emitted("f-b", 1_700_000_001.5))
    assert await _reopened(storage, store) == {
        "endpoint:a": Emitted("f-a", 1_700_000_000.123456),
        "backup:b": Emitted("f-b", 1_700_000_001.5),
    }


async def test_a_later_save_replaces_the_earlier_one_for_its_key_only(storage: Storage) -> None:
    """Saving a key again keeps only the newest emission for it; other keys are untouched."""
    store = storage.reopen()
    await store.open()
    await store.save("endpoint:a", Emitted("old", 1.0))
    await store.save("endpoint:b", Emitted("b", 2.0))
    await store.save("endpoint:a", Emitted("new", 3.0))
    assert await _reopened(storage, store) == {
        "endpoint:a": Emitted("new", 3.0),
        "endpoint:b": Emitted("b", 2.0),
    }


async def test_concurrent_saves_are_all_kept(storage: Storage) -> None:
    """Saves made at once (the scheduler runs probes concurrently) are all persisted."""
    store = storage.reopen()
    await store.open()
    async with anyio.create_task_group() as tg:
        for n in range(50):
            tg.start_soon(store.save, f"endpoint:{n}", Emitted(f"f{n}", float(n)))
    assert await _reopened(storage, store) == {
        f"endpoint:{n}": Emitted(f"f{n}", float(n)) for n in range(50)
    }


async def test_kept_runs_survive_a_restart_exactly(storage: Storage) -> None:
    """A recalled job's kept run (start time and event body) is loaded after a restart; a
    later keep replaces the earlier one for its key only."""
    store = storage.reopen()
    await store.open()
    await store.keep("restore:a", 1_700_000_000.25, '{"old": 1}')
    await store.keep("restore:b", 2.5, '{"b": 2}')
    await store.keep("restore:a", 1_700_000_100.75, '{"new": 3}')
    await store.close()
    again = storage.reopen()
    assert await again.open() == {}  # kept runs are not emissions
    assert await again.kept() == {
        "restore:a": (1_700_000_100.75, '{"new": 3}'),
        "restore:b": (2.5, '{"b": 2}'),
    }
    await again.close()


class _Probe:
    """A probe whose verdict a test can flip; `ran` is set after each run."""

    def __init__(self) -> None:
        self.verified = True
        self.runs = 0
        self.ran = anyio.Event()

    async def __call__(self) -> EvidenceEvent:
        self.runs += 1
        self.ran.set()
        return endpoint_event("a", self.verified)


def _scheduler(
    probe: _Probe,
    store: ProbeStateStore,
    emitted: list[str],
    clock: Callable[[], float] = time.time,
) -> Scheduler:
    async def submit(event: EvidenceEvent, job: Job) -> bool:
        emitted.append(event.context_key)
        return True

    job = Job("endpoint:a", "ops-endpoint-verified", 0.01, 5, HEARTBEAT, probe)
    return Scheduler([job], submit, store, clock=clock)


async def _runs_until(probe: _Probe, done: Callable[[], bool]) -> None:
    """Wait, run by run of `probe` (at most 5 s), until `done()` holds."""
    with anyio.fail_after(5):
        while not done():
            probe.ran = anyio.Event()
            await probe.ran.wait()


async def _emitted_once_then_restarted(
    storage: Storage, probe: _Probe, emitted: list[str]
) -> ProbeStateStore:
    """A first service life: `run --once` emits the result; then the service stops."""
    store = storage.reopen()
    first = _scheduler(probe, store, emitted)
    await first.load_state()
    await first.run_once()
    await store.close()
    assert emitted == ["endpoint:a"]
    return storage.reopen()


async def test_a_restart_does_not_emit_an_unchanged_result_again(storage: Storage) -> None:
    """After a restart on the same state, runs whose result is unchanged (heartbeat far off)
    emit nothing; the first changed result is emitted."""
    probe, emitted = _Probe(), list[str]()
    store = await _emitted_once_then_restarted(storage, probe, emitted)
    second = _scheduler(probe, store, emitted)
    await second.load_state()
    async with anyio.create_task_group() as tg:
        tg.start_soon(second.run)
        await _runs_until(probe, lambda: probe.runs >= 4)
        assert emitted == ["endpoint:a"]  # three runs since the restart, all unchanged
        probe.verified = False
        await _runs_until(probe, lambda: len(emitted) >= 2)
        second.stop()
    await store.close()
    assert emitted == ["endpoint:a", "endpoint:a"]


async def test_a_restart_emits_again_once_the_heartbeat_is_due(storage: Storage) -> None:
    """The restored emission keeps its time: restarted past the heartbeat, an unchanged
    result is emitted again (the state is not merely "seen once, never again")."""
    probe, emitted = _Probe(), list[str]()
    store = await _emitted_once_then_restarted(storage, probe, emitted)
    later = _scheduler(probe, store, emitted, clock=lambda: time.time() + HEARTBEAT + 60)
    await later.load_state()
    async with anyio.create_task_group() as tg:
        tg.start_soon(later.run)
        await _runs_until(probe, lambda: len(emitted) >= 2)
        later.stop()
    await store.close()
    assert emitted == ["endpoint:a", "endpoint:a"]

"""The async scheduler: emits quietly, persists emissions, runs drift last, never overlaps."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

import anyio
import pytest

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.schedule.emission_state import MemoryProbeState
from ops_evidence.schedule.runner import Job, RunRecord, Scheduler
from tests.factories import endpoint_event

pytestmark = pytest.mark.anyio


class Probe:
    """A fake probe whose verdict a test can flip; records overlap."""

    def __init__(self, name: str, hold: anyio.Event | None = None) -> None:
        self.name, self.verified, self.hold = name, True, hold
        self.runs = 0
        self.active = 0
        self.max_active = 0
        self.ran = anyio.Event()
        self.started = anyio.Event()

    async def __call__(self) -> EvidenceEvent:
        self.active += 1
        self.started.set()
        self.max_active = max(self.max_active, self.active)
        try:
            if self.hold is not None:
                await self.hold.wait()
            self.runs += 1
            return endpoint_event(self.name, self.verified)
        finally:
            self.active -= 1
            self.ran.set()


def _job(probe: Probe, interval: float = 3600, drift: bool = False) -> Job:
    return Job(
        f"endpoint:{probe.name}",
        "ops-endpoint-verified",
        interval,
        5,
        3600,
        probe,
        after_observations=drift,
    )


def _collector() -> tuple[list[str], Callable[[EvidenceEvent, Job], Awaitable[bool]]]:
    seen: list[str] = []

    async def submit(event: EvidenceEvent, job: Job) -> bool:
        seen.append(event.context_key)
        return True

    return seen, submit


async def _runs_until(probe: Probe, done: Callable[[], bool]) -> None:
    """Wait, run by run of `probe` (at most 5 s), until `done()` holds."""
    with anyio.fail_after(5):
        while not done():
            probe.ran = anyio.Event()
            await probe.ran.wait()


async def test_once_runs_everything_and_drift_last() -> None:
    """run_once emits every probe; after_observations jobs run after the others."""
    order: list[str] = []
    probes = [Probe("a"), Probe("b"), Probe("drift")]
    seen, submit = _collector()
    jobs = [_job(probes[2], drift=True), _job(probes[0]), _job(probes[1])]
    scheduler = Scheduler(
        jobs, submit, MemoryProbeState(), observers=[lambda r: order.append(r.job.key)]
    )
    await scheduler.load_state()
    records = await scheduler.run_once()
    assert sorted(seen) == ["endpoint:a", "endpoint:b", "endpoint:drift"]
    assert order[-1] == "endpoint:drift"
    assert all(r.emitted for r in records)


async def test_derived_jobs_do_not_wait_for_a_job_with_a_turn() -> None:
    """Drift starts after the other observations' first run, while a job that waits for a
    turn (a restore drill) is still running its first."""
    hold = anyio.Event()
    slow, quick, drift = Probe("drill", hold), Probe("quick"), Probe("drift")
    _, submit = _collector()
    jobs = [replace(_job(slow), turn=anyio.Lock), _job(quick), _job(drift, drift=True)]
    scheduler = Scheduler(jobs, submit, MemoryProbeState(), initial_spread=0.01)
    await scheduler.load_state()
    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run)
        with anyio.fail_after(5):
            await slow.started.wait()
            await drift.ran.wait()
        assert (slow.runs, slow.active, quick.runs, drift.runs) == (0, 1, 1, 1)
        hold.set()
        scheduler.stop()


async def test_derived_jobs_wait_for_a_job_without_a_turn() -> None:
    """An observation without a turn still running its first run holds drift back."""
    hold = anyio.Event()
    slow, drift = Probe("slow"), Probe("drift")
    slow.hold = hold
    _, submit = _collector()
    scheduler = Scheduler(
        [_job(slow), _job(drift, drift=True)], submit, MemoryProbeState(), initial_spread=0.01
    )
    await scheduler.load_state()
    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run)
        with anyio.fail_after(5):
            await slow.started.wait()
        await anyio.wait_all_tasks_blocked()
        assert drift.runs == 0
        hold.set()
        with anyio.fail_after(5):
            await drift.ran.wait()
        assert drift.runs == 1
        scheduler.stop()


async def test_restart_does_not_re_emit_unchanged_results() -> None:
    """With the persisted emission state, an unchanged result is not emitted again; a change is."""
    state = MemoryProbeState()
    probe = Probe("a")
    seen, submit = _collector()
    first = Scheduler([_job(probe)], submit, state)
    await first.load_state()
    await first.run_once()
    second = Scheduler([_job(probe, interval=0.01)], submit, state)
    await second.load_state()
    async with anyio.create_task_group() as tg:
        tg.start_soon(second.run)
        await _runs_until(probe, lambda: probe.runs >= 3)
        assert seen == ["endpoint:a"]  # two runs since restart, nothing new emitted
        probe.verified = False
        await _runs_until(probe, lambda: len(seen) >= 2)
        second.stop()
    assert seen == ["endpoint:a", "endpoint:a"]


async def test_never_two_runs_of_the_same_probe() -> None:
    """A run longer than the interval is not started again until it finished."""
    hold = anyio.Event()
    probe = Probe("slow", hold)
    _, submit = _collector()
    scheduler = Scheduler([_job(probe, interval=0.001)], submit, MemoryProbeState())
    await scheduler.load_state()
    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run)
        with anyio.fail_after(5):
            await probe.started.wait()
        await anyio.wait_all_tasks_blocked()
        assert probe.max_active == 1
        hold.set()
        await _runs_until(probe, lambda: probe.runs >= 5)
        scheduler.stop()
    assert probe.max_active == 1


async def test_crashing_probe_is_recorded_not_fatal() -> None:
    """A probe that raises leaves a record with an error; the others still run."""

    async def broken() -> EvidenceEvent:
        raise RuntimeError("bug")

    ok = Probe("ok")
    seen, submit = _collector()
    jobs = [Job("endpoint:broken", "ops-endpoint-verified", 60, 1, 60, broken), _job(ok)]
    scheduler = Scheduler(jobs, submit, MemoryProbeState())
    await scheduler.load_state()
    await scheduler.run_once()
    assert scheduler.results["endpoint:broken"].error == "probe error: RuntimeError"
    assert seen == ["endpoint:ok"]


async def test_a_refused_event_is_offered_again_on_the_next_run() -> None:
    """An event the outbox refused is not recorded as emitted: the next run of the probe
    (same result, heartbeat far off) submits it again; once accepted, it is quiet."""
    probe = Probe("a")
    offered: list[bool] = []

    async def submit(event: EvidenceEvent, job: Job) -> bool:
        offered.append(bool(offered))  # the first offer is refused, later ones accepted
        return offered[-1]

    state = MemoryProbeState()
    scheduler = Scheduler([_job(probe, interval=0.01)], submit, state)
    await scheduler.load_state()
    records: list[RunRecord] = []
    scheduler.observers.append(records.append)
    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run)
        await _runs_until(probe, lambda: probe.runs >= 4)
        scheduler.stop()
    assert offered[:2] == [False, True]
    assert len(offered) == 2  # accepted once, then unchanged: not emitted again
    assert [r.emitted for r in records[:2]] == [False, True]
    assert "endpoint:a" in await state.open()


def _drill(probe: Probe, lock: anyio.Lock, timeout: float = 5) -> Job:
    return replace(_job(probe), key=f"restore:{probe.name}", timeout=timeout, turn=lambda: lock)


async def test_a_job_waiting_for_its_turn_holds_no_slot() -> None:
    """Two drills share one turn: while the second waits, it holds no concurrency slot, so
    another probe runs in the slot it would have taken."""
    lock, hold = anyio.Lock(), anyio.Event()
    first, second, other = Probe("first", hold), Probe("second"), Probe("other")
    jobs = [_drill(first, lock), _drill(second, lock), _job(other)]
    scheduler = Scheduler(jobs, _collector()[1], MemoryProbeState(), concurrency=2)
    await scheduler.load_state()
    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run_once)
        with anyio.fail_after(5):
            await first.started.wait()
            await other.ran.wait()
        assert (first.active, second.runs, other.runs) == (1, 0, 1)
        hold.set()
    assert (first.runs, second.runs, second.max_active + first.max_active) == (1, 1, 2)


async def test_the_cut_off_does_not_count_the_wait_for_a_turn() -> None:
    """A drill queued behind another for longer than its own cut-off (timeout x 2 + 1 s)
    still runs and records its event: the cut-off starts with its turn."""
    lock, hold = anyio.Lock(), anyio.Event()
    first, second = Probe("first", hold), Probe("second")
    jobs = [_drill(first, lock), _drill(second, lock, timeout=0.05)]
    scheduler = Scheduler(jobs, _collector()[1], MemoryProbeState())
    await scheduler.load_state()
    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run_once)
        with anyio.fail_after(5):
            await first.started.wait()
        # The time passing is what is tested: longer than the second drill's 1.1 s cut-off.
        await anyio.sleep(1.3)
        hold.set()
    record = scheduler.results["restore:second"]
    assert (record.error, second.runs) == (None, 1)


def _recalled(probe: Probe, seen: list[str], interval: float = 3600) -> Job:
    return replace(_job(probe, interval=interval), key=f"restore:{probe.name}", recall=seen.append)


async def test_a_recalled_job_is_kept_and_handed_back_after_a_restart() -> None:
    """A recalled job's run is kept (its event); a scheduler restarted on the same state hands
    the event to `recall` and does not run the job again before its interval is out, while
    the other jobs run."""
    state, seen = MemoryProbeState(), list[str]()
    drill, other = Probe("drill"), Probe("other")
    first = Scheduler([_recalled(drill, seen)], _collector()[1], state)
    await first.load_state()
    await first.run_once()
    ((_started, body),) = (await state.kept()).values()
    assert '"context_key":"endpoint:drill"' in body
    assert drill.runs == 1
    second = Scheduler(
        [_recalled(drill, seen), _job(other, interval=0.01)],
        _collector()[1],
        state,
        initial_spread=0.01,
    )
    await second.load_state()
    assert seen == [body]
    async with anyio.create_task_group() as tg:
        tg.start_soon(second.run)
        await _runs_until(other, lambda: other.runs >= 3)
        second.stop()
    assert drill.runs == 1  # not again within its hour


async def test_a_recalled_job_whose_interval_is_out_runs_at_once() -> None:
    """Restarted after the interval of its kept run, a recalled job runs straight away."""
    state, seen = MemoryProbeState(), list[str]()
    drill = Probe("drill")
    await state.keep("restore:drill", time.time() - 3601, "{}")
    scheduler = Scheduler([_recalled(drill, seen)], _collector()[1], state)
    await scheduler.load_state()
    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run)
        await _runs_until(drill, lambda: drill.runs >= 1)
        scheduler.stop()
    assert seen == ["{}"]


async def test_a_kept_event_that_cannot_be_read_is_run_afresh() -> None:
    """A kept body `recall` refuses (another version's) is ignored: the job runs soon, as on
    a first start."""
    state, drill = MemoryProbeState(), Probe("drill")
    await state.keep("restore:drill", time.time(), "not json")

    def recall(body: str) -> None:
        raise ValueError(body)

    job = replace(_job(drill), key="restore:drill", recall=recall)
    scheduler = Scheduler([job], _collector()[1], state, initial_spread=0.01)
    await scheduler.load_state()
    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run)
        await _runs_until(drill, lambda: drill.runs >= 1)
        scheduler.stop()

"""The scheduler: runs every probe on its interval, emits events quietly, never overlaps.

Drives the pure `Timetable` with the real clock on the service's task group. A probe run is
bounded by its timeout; the global limiter caps concurrent probes. Results are emitted
(submitted to the outbox) on change or heartbeat; the last emission per probe is persisted so
a restart does not re-emit everything, and a `recall` job's last event (a restore drill's) so
a restart does not re-run it before its interval is out. Jobs flagged `after_observations`
(drift, readiness gates) start only after every other probe has run once (except those that
wait for a `turn`: the restore drills), as they are computed from those observations.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import anyio

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.wire import canonical_json, event_attributes
from ops_evidence.logging import get_logger
from ops_evidence.schedule.emission_state import ProbeStateStore
from ops_evidence.schedule.timetable import Emitted, Timetable, fingerprint, should_emit

log = get_logger(component="scheduler")
# Stores an event for delivery; False when it was refused (the outbox is full), so the
# emission is not recorded and the next run offers the result again.
Submit = Callable[[EvidenceEvent, "Job"], Awaitable[bool]]


@dataclass(frozen=True)
class Job:
    """One probe to run repeatedly for one inventory entity."""

    key: str
    event_type: str
    interval: float
    timeout: float
    heartbeat: float
    run: Callable[[], Awaitable[EvidenceEvent]]
    view_context: str | None = None
    after_observations: bool = False
    # What a run waits for before it starts (a restore drill: its turn, as drills run one at
    # a time), taken before the concurrency slot and the cut-off so the wait counts against
    # neither. A job with a turn is also not awaited by the `after_observations` jobs: drills
    # queue for minutes each, and the gates should not wait that long after a start (OPS-G07
    # reads "no evidence yet" meanwhile).
    turn: Callable[[], AbstractAsyncContextManager[Any]] | None = None
    # A job recalled across restarts (a restore drill, days apart): its last run's event is
    # kept in the probe state, handed to `recall` on start (the drill's observation, which
    # the gates read), and its first run then waits out its interval from that run's start
    # instead of running within the first minute of every start.
    recall: Callable[[str], None] | None = None


@dataclass
class RunRecord:
    """The last run of a probe, for the status page, metrics and `run --once`."""

    job: Job
    event: EvidenceEvent | None
    started: float
    duration: float
    lateness: float
    emitted: bool
    error: str | None = None


@dataclass
class Scheduler:
    """Runs jobs; `results` holds each job's last RunRecord."""

    jobs: Sequence[Job]
    submit: Submit
    state: ProbeStateStore
    concurrency: int = 32
    # First runs are spread over min(interval, this) so a restart does not stampede.
    initial_spread: float = 60.0
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    observers: list[Callable[[RunRecord], None]] = field(default_factory=list)
    results: dict[str, RunRecord] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_key = {job.key: job for job in self.jobs}
        self._limiter = anyio.CapacityLimiter(self.concurrency)
        self._wake = anyio.Event()
        self._stopping = False
        self._emitted: dict[str, Emitted] = {}
        self._last_start: dict[str, float] = {}

    async def load_state(self) -> None:
        """Read the persisted emissions, and hand each recalled job its kept event (call once
        before running)."""
        self._emitted = await self.state.open()
        for key, (started, body) in (await self.state.kept()).items():
            job = self._by_key.get(key)
            if job is None or job.recall is None:
                continue  # no longer planned, or no longer recalled
            try:
                job.recall(body)
            except (ValueError, KeyError, TypeError) as exc:  # unreadable here: run it afresh
                log.warning("probe_state_unreadable", probe=key, error=type(exc).__name__)
                continue
            self._last_start[key] = started

    def stop(self) -> None:
        """Stop starting new runs; `run` returns once in-flight runs have finished."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Run every job on its interval until `stop()`."""
        table = Timetable(rng=self.rng)
        now = self.clock()
        late = [job for job in self.jobs if job.after_observations]
        for job in self.jobs:
            if not job.after_observations:
                last = self._last_start.get(job.key)
                table.add(
                    job.key, job.interval, now, spread_cap=self.initial_spread, last_start=last
                )
        pending_first = {j.key for j in self.jobs if j.turn is None and not j.after_observations}
        async with anyio.create_task_group() as tg:
            while not self._stopping:
                for key, scheduled in table.pop_due(self.clock()):
                    tg.start_soon(self._run_and_reschedule, self._by_key[key], scheduled, table)
                if late and not (pending_first - self.results.keys()):
                    for job in late:  # every observation exists now: start drift
                        table.add(job.key, job.interval, self.clock(), spread=False)
                    late = []
                due = table.next_due()
                delay = math.inf if due is None else max(0.0, due - self.clock())
                with anyio.move_on_after(delay):
                    await self._wake.wait()
                self._wake = anyio.Event()

    async def run_once(self) -> list[RunRecord]:
        """Every job once (drift last), emitting every result; returns the records."""
        for phase in (False, True):
            async with anyio.create_task_group() as tg:
                for job in self.jobs:
                    if job.after_observations is phase:
                        tg.start_soon(self._run_job, job, self.clock(), True)
        return [self.results[job.key] for job in self.jobs if job.key in self.results]

    async def _run_and_reschedule(self, job: Job, scheduled: float, table: Timetable) -> None:
        try:
            record = await self._run_job(job, scheduled, False)
            table.finished(job.key, record.started, self.clock())
        except BaseException:
            table.finished(job.key, self.clock(), self.clock())
            raise
        finally:
            self._wake.set()

    async def _run_job(self, job: Job, scheduled: float, force_emit: bool) -> RunRecord:
        async with job.turn() if job.turn else contextlib.nullcontext(), self._limiter:
            started = self.clock()
            event, error = await self._probe(job)
            duration = self.clock() - started
            emitted = False
            if event is not None:
                emitted = await self._maybe_emit(job, event, force_emit)
                if job.recall is not None:
                    body = canonical_json(event.model_dump(mode="json")).decode()
                    await self.state.keep(job.key, started, body)
            record = RunRecord(
                job, event, started, duration, max(0.0, started - scheduled), emitted, error
            )
        self.results[job.key] = record
        for observer in self.observers:
            observer(record)
        return record

    async def _probe(self, job: Job) -> tuple[EvidenceEvent | None, str | None]:
        # Probes handle their own timeouts; this bound only catches one that does not.
        with anyio.move_on_after(job.timeout * 2 + 1):
            try:
                return await job.run(), None
            except Exception as exc:  # a probe bug must not stop the others
                log.exception("probe_crashed", probe=job.key, event_type=job.event_type)
                return None, f"probe error: {type(exc).__name__}"
        log.warning("probe_timeout", probe=job.key, timeout=job.timeout)
        return None, "probe exceeded its timeout"

    async def _maybe_emit(self, job: Job, event: EvidenceEvent, force: bool) -> bool:
        current = fingerprint(event.event_type, event_attributes(event))
        now = self.clock()
        if not force and not should_emit(self._emitted.get(job.key), current, now, job.heartbeat):
            return False
        if not await self.submit(event, job):
            return False  # refused: not emitted, so the next run offers it again
        self._emitted[job.key] = Emitted(current, now)
        await self.state.save(job.key, self._emitted[job.key])
        return True

"""The dispatcher: drains due deliveries from the outbox to the sinks.

One loop per sink, each with bounded concurrency. A loop wakes at once when new work is
enqueued (`notify`) and otherwise sleeps until the outbox's next due time — no polling.
Work made due by another process (`outbox replay`, `outbox drain`) cannot notify: every
`ELSEWHERE_EVERY` seconds one cheap question (`Outbox.changed_elsewhere`) tells whether
another connection committed, and wakes the loops if so (pickup within 5 s, not at the next
local event). A sink that raises (a bug) is logged as `sink_crashed` and recorded as a
transient, ambiguous attempt: the row is retried (read back first) and the loop goes on.
On cancellation (shutdown) an attempt that is mid-request is abandoned: its lease and its
`ambiguous` mark stay in the outbox, so the next process reads back before re-posting.
A result, once decided, is recorded under a shield: never half-written.

Batching (bench/delivery.py: the outbox round trips were a third of the drain's CPU):
- A loop claims ahead: enough for its free slots plus one more round of `concurrency`, and
  again once half of that round is used, not once per finished attempt. Claimed-ahead
  deliveries are leased and marked like in-flight ones (a crash leaves them to read back);
  one held for more than half its lease is dropped unsent (due again when the lease ends).
- Never two attempts of one row at once. A row claimed again while its attempt still runs
  here is held back until that attempt has recorded its result. If the claim read the row
  before that result, the result has ended the claim's lease: it is dropped (the row is due
  at its new time). If it read the row after the result (the claim and the write were in
  the outbox together), nothing else would end its lease: it is attempted as claimed.
- A slot (which bounds requests in flight) is freed as soon as the answer is in, and handed
  straight to the next claimed-ahead delivery, without waiting for the loop. The finished
  row stays leased until its result is recorded, so it cannot be claimed twice meanwhile.
- Results that finish while another group is being written are recorded together, in one
  `record` call (one transaction); each attempt waits until its own result is committed
  before it logs, and recording wakes the loop (the row's due time may have changed).
- While every slot is busy the loop does not ask the outbox when work is due.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import anyio
import anyio.abc

from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.delivery.outbox.base import Outbox
from ops_evidence.delivery.outbox.models import Delivery, Result
from ops_evidence.delivery.sinks.base import Attempt, Sink
from ops_evidence.logging import get_logger

log = get_logger(component="dispatcher")
IDLE_RECHECK = 0.5
# How often a running service asks whether another process committed to the outbox: one
# `PRAGMA data_version` per tick (SqliteOutbox.changed_elsewhere gives its cost).
ELSEWHERE_EVERY = 5.0
Observer = Callable[[Delivery, Attempt | None, Result], None]
# The default lease (RetryPolicy's); the service passes RetryPolicy.from_settings(...).lease.
DEFAULT_LEASE = RetryPolicy().lease


class Outcomes(Protocol):
    """What the dispatcher asks of the outcome policy (`outcomes.OutcomePolicy`)."""

    def before_send(self, delivery: Delivery, now: float) -> Result | None:
        """A Result without sending, or None to send."""
        ...

    def decide(self, delivery: Delivery, attempt: Attempt, now: float) -> Result:
        """What the attempt's outcome means."""
        ...


@dataclass
class _SinkState:
    wake: anyio.Event = field(default_factory=anyio.Event)
    inflight: int = 0
    # Keys with an attempt started and not yet recorded, with the time it started.
    busy: dict[str, float] = field(default_factory=dict)
    # Claimed again while their attempt was running: held until it has been recorded.
    parked: dict[str, tuple[float, Delivery]] = field(default_factory=dict)
    # Claimed (leased) but not yet started, oldest due first, with the claim time.
    ready: deque[tuple[float, Delivery]] = field(default_factory=deque)


@dataclass
class _Group:
    results: list[Result] = field(default_factory=list)
    done: anyio.Event = field(default_factory=anyio.Event)
    error: BaseException | None = None


class GroupRecorder:
    """Records results handed in concurrently with as few `record` calls as possible.

    The first caller writes its result at once; results arriving meanwhile form the next
    group, written (by one of their callers) as soon as the write in progress ends. Every
    caller returns only after the transaction holding its result has committed, and gets
    that transaction's exception if it failed.
    """

    def __init__(self, outbox: Outbox, clock: Callable[[], float]) -> None:
        self.outbox = outbox
        self.clock = clock
        self.calls = 0
        self._filling = _Group()
        self._writing = False
        self._idle = anyio.Event()

    async def record(self, result: Result) -> None:
        """Store `result` (with any others waiting); returns once it is committed."""
        group = self._filling
        group.results.append(result)
        while not group.done.is_set():
            if self._writing:
                await self._idle.wait()
                continue
            self._writing, self._idle, self._filling = True, anyio.Event(), _Group()
            try:
                self.calls += 1
                await self.outbox.record(group.results, self.clock())
            except BaseException as exc:  # noqa: BLE001 - re-raised to every caller of the group
                group.error = exc
            finally:
                group.done.set()
                self._writing = False
                self._idle.set()
        if group.error is not None:
            raise group.error


class Dispatcher:
    """Delivers outbox work to sinks with per-sink concurrency."""

    def __init__(
        self,
        outbox: Outbox,
        outcomes: Outcomes,
        sinks: Mapping[str, Sink],
        *,
        lease: float = DEFAULT_LEASE,
        concurrency: int = 8,
        clock: Callable[[], float] = time.time,
        observers: list[Observer] | None = None,
    ) -> None:
        self.outbox = outbox
        self.outcome_policy = outcomes
        # Seconds a claimed row is held for its attempt: longer than one attempt (read-back
        # plus post), from the same RetryPolicy as the outcome policy's backoff.
        self.lease = lease
        self.sinks = dict(sinks)
        self.concurrency = concurrency
        self.clock = clock
        self.observers = observers or []
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self._states = {name: _SinkState() for name in self.sinks}
        self.recorder = GroupRecorder(outbox, clock)
        self._idle_horizon = 60.0
        self._stopping = False
        self._stopped = anyio.Event()

    def stop(self) -> None:
        """Claim nothing new; `run` returns when in-flight attempts have been recorded."""
        self._stopping = True
        self._stopped.set()
        self.notify()

    def notify(self, sink: str | None = None) -> None:
        """Wake the loop of `sink` (or every loop): new work may be due now."""
        for name, state in self._states.items():
            if sink is None or name == sink:
                state.wake.set()

    async def run(self, *, until_idle: bool = False, idle_horizon: float = 60.0) -> None:
        """Run every sink loop.

        With `until_idle`, return once no sink has work due within `idle_horizon` seconds
        (short backoffs are waited out; hour-long deferrals are left for the service).
        """
        self._idle_horizon = idle_horizon
        async with anyio.create_task_group() as tg:
            if not until_idle:
                # An `until_idle` run re-checks every IDLE_RECHECK anyway, and must end.
                tg.start_soon(self._watch_elsewhere)
            for name in self.sinks:
                tg.start_soon(self._loop, name, until_idle)

    async def _watch_elsewhere(self) -> None:
        """Wake every loop when another process committed (a replay may have made rows due)."""
        while not self._stopping:
            with anyio.move_on_after(ELSEWHERE_EVERY):
                await self._stopped.wait()
            if not self._stopping and await self.outbox.changed_elsewhere():
                self.notify()

    async def _loop(self, name: str, until_idle: bool) -> None:
        sink, state = self.sinks[name], self._states[name]
        lease = self.lease
        async with anyio.create_task_group() as tg:
            while not self._stopping:
                free = self.concurrency - state.inflight
                free -= self._start_ready(tg, sink, state, free, lease)
                # Claim ahead, enough for the free slots plus one more round; while every
                # slot is busy, only once half a round has been used (no tiny claims).
                want = free + self.concurrency - len(state.ready)
                if free > 0 or want >= max(1, self.concurrency // 2):
                    now = self.clock()
                    claimed = await self.outbox.claim(name, now, want, lease)
                    state.ready.extend((now, delivery) for delivery in claimed)
                    if claimed:
                        continue
                if not await self._sleep(name, state, until_idle):
                    return

    def _start_ready(
        self, tg: anyio.abc.TaskGroup, sink: Sink, state: _SinkState, free: int, lease: float
    ) -> int:
        """Start up to `free` claimed deliveries; drop any held past half its lease, and
        hold back any whose attempt is still running here."""
        started = 0
        while started < free and state.ready and not self._stopping:
            claimed_at, delivery = state.ready.popleft()
            if self.clock() - claimed_at > lease / 2:
                continue  # too little lease left to finish; due again once it expires
            if delivery.key in state.busy:
                # An attempt outlived its lease (a slow hub), or the claim read the row just
                # as its result was written: never two attempts of one row at once.
                state.parked[delivery.key] = (claimed_at, delivery)
                continue
            state.busy[delivery.key] = self.clock()
            state.inflight += 1
            started += 1
            tg.start_soon(self._attempt, tg, sink, delivery, state)
        return started

    async def _sleep(self, name: str, state: _SinkState, until_idle: bool) -> bool:
        """Wait for a wake-up or the next due time; False when idle and asked to stop."""
        if state.inflight >= self.concurrency:
            # Only a finishing attempt can free a slot, and it wakes us: no due time needed.
            await state.wake.wait()
            state.wake = anyio.Event()
            return True
        due = await self.outbox.next_due(name)
        # Leased (in-flight) rows are still active, and a fallback is inserted in the same
        # transaction that finalises its Inter-Hub row: no active row anywhere means done.
        if until_idle and self._beyond_horizon(due) and await self._all_idle():
            # Wake the other loops: they see it now rather than at their next re-check.
            self.notify()
            return False
        delay = math.inf if due is None else max(0.0, due - self.clock())
        if until_idle:
            delay = min(delay, IDLE_RECHECK)  # other sinks may finish without waking us
        with anyio.move_on_after(delay):
            await state.wake.wait()
        state.wake = anyio.Event()
        return True

    def _beyond_horizon(self, due: float | None) -> bool:
        return due is None or due > self.clock() + self._idle_horizon

    async def _all_idle(self) -> bool:
        for other in self.sinks:
            if not self._beyond_horizon(await self.outbox.next_due(other)):
                return False
        return True

    async def _attempt(
        self, tg: anyio.abc.TaskGroup, sink: Sink, delivery: Delivery, state: _SinkState
    ) -> None:
        try:
            await self._attempt_once(tg, sink, delivery, state)
        finally:
            state.busy.pop(delivery.key, None)
            state.parked.pop(delivery.key, None)  # not resumed: its lease ends by itself

    async def _attempt_once(
        self, tg: anyio.abc.TaskGroup, sink: Sink, delivery: Delivery, state: _SinkState
    ) -> None:
        try:
            attempt: Attempt | None = None
            result = self.outcome_policy.before_send(delivery, self.clock())
            if result is None:
                attempt = await _send(sink, delivery)
                result = self.outcome_policy.decide(delivery, attempt, self.clock())
        finally:
            # The slot bounds requests in flight; it is free once the answer is in. The row
            # stays leased until its result is recorded, so it cannot be claimed meanwhile.
            state.inflight -= 1
            state.wake.set()
        # Hand the slot to the next claimed-ahead delivery now, even while the loop is
        # waiting for a claim; the loop then only tops the buffer up.
        self._start_ready(tg, sink, state, 1, self.lease)
        with anyio.CancelScope(shield=True):
            await self.recorder.record(result)
        _resume_parked(state, delivery, result)
        state.wake.set()  # the lease is gone: the loop's next due time may be sooner now
        self._observe(delivery, attempt, result)

    def _observe(self, delivery: Delivery, attempt: Attempt | None, result: Result) -> None:
        self.outcomes[(delivery.sink, result.status)] += 1
        if result.fallback is not None:
            self.notify(result.fallback.sink)
        event = (
            "event_delivered"
            if result.status in ("delivered", "duplicate")
            else (f"delivery_{result.status}")
        )
        level = "info" if result.status in ("delivered", "duplicate") else "warning"
        fields: dict[str, object] = {
            "sink": delivery.sink,
            "key": delivery.key,
            "event_type": delivery.event_type,
            "status": result.status,
            "attempts": delivery.attempts + int(result.count_attempt),
        }
        # Fields without a value are left out (fewer to redact and render per delivery).
        if result.http_status is not None:
            fields["http_status"] = result.http_status
        if result.error is not None:
            fields["error"] = result.error
        if result.fallback is not None:
            fields["fallback"] = result.fallback.sink
        getattr(log, level)(event, **fields)
        for observer in self.observers:
            observer(delivery, attempt, result)


def _resume_parked(state: _SinkState, delivery: Delivery, result: Result) -> None:
    """Put back the row claimed again during this attempt if that claim read the row after
    this attempt's result was written: its lease is fresh and nothing else would end it (it
    would sit a whole lease, unsent). A claim that read it before lost its lease to the
    result and is dropped; one in doubt is too (a late retry, never a second attempt)."""
    parked = state.parked.pop(delivery.key, None)
    if parked is None:
        return
    again = parked[1]
    holds_result = (
        again.updated_at > state.busy[delivery.key]
        and again.status == result.status
        and again.attempts == delivery.attempts + int(result.count_attempt)
    )
    if holds_result:
        state.ready.appendleft(parked)


async def _send(sink: Sink, delivery: Delivery) -> Attempt:
    """The sink's attempt; one that raises (a bug) becomes a transient, ambiguous attempt."""
    try:
        return await sink.send(delivery)
    except Exception as exc:  # a sink bug must not stop the dispatcher (cf. probe_crashed)
        log.exception(
            "sink_crashed", sink=delivery.sink, key=delivery.key, event_type=delivery.event_type
        )
        # A request may have left before the bug struck: read back before posting again.
        return Attempt("transient", error=f"sink error: {type(exc).__name__}", ambiguous=True)

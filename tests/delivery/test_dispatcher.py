"""Dispatcher with fake sinks: drains, wakes on notify, bounds concurrency, falls back."""

from __future__ import annotations

import functools
import io
import json
import random
from collections import Counter
from collections.abc import Sequence

import anyio
import pytest

from ops_evidence.config.settings import load_settings
from ops_evidence.delivery import dispatcher as dispatcher_module
from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.delivery.dispatcher import Dispatcher, GroupRecorder
from ops_evidence.delivery.outbox import MemoryOutbox
from ops_evidence.delivery.outbox.models import Delivery, Result
from ops_evidence.delivery.router import Router
from ops_evidence.delivery.sinks.base import Attempt, AttemptKind, Sink
from ops_evidence.errors import OutboxError
from ops_evidence.logging import configure_logging
from tests.factories import endpoint_event

pytestmark = pytest.mark.anyio


class FakeSink:
    """Answers from a script (then `delivered`), counting concurrent sends."""

    def __init__(self, name: str, script: list[AttemptKind] | None = None) -> None:
        self.name = name
        self.script = list(script or [])
        self.sent: list[str] = []
        self.active = 0
        self.peak = 0
        self.gate: anyio.Event | None = None
        self.open_gate_at: int | None = None
        self.started = anyio.Event()
        self.finished = anyio.Event()

    async def send(self, delivery: Delivery) -> Attempt:
        self.active += 1
        self.started.set()
        self.peak = max(self.peak, self.active)
        if self.gate is not None and self.active == self.open_gate_at:
            self.gate.set()
        try:
            if self.gate is not None:
                await self.gate.wait()
            self.sent.append(delivery.key)
            return Attempt(self.script.pop(0) if self.script else "delivered")
        finally:
            self.active -= 1
            self.finished.set()


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inter-Hub configured; every endpoint event mapped to one widget."""
    monkeypatch.setenv("INTER_HUB_URL", "https://hub.test")
    monkeypatch.setenv("OPS_HUB_KEY", "k-0123456789")
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", '{"event_types": {"ops-endpoint-verified": "w"}}')


def _setup(
    inter: FakeSink, state: FakeSink, concurrency: int = 4
) -> tuple[MemoryOutbox, Router, Dispatcher]:
    outbox = MemoryOutbox()
    router = Router(load_settings(), RetryPolicy(base=0.001, cap=0.01), random.Random(1))
    sinks = {"inter-hub": inter, "state-hub": state}
    return outbox, router, Dispatcher(outbox, router, sinks, concurrency=concurrency)


async def _enqueue(outbox: MemoryOutbox, router: Router, n: int) -> list[str]:
    keys = []
    for i in range(n):
        stored, deliveries = router.plan(endpoint_event(f"e{i}"))
        await outbox.enqueue(stored, deliveries)
        keys.append(stored.key)
    return keys


async def test_drains_backlog_with_retries(configured: None) -> None:
    """Every event ends delivered once, after transient failures are retried."""
    inter = FakeSink("inter-hub", ["transient", "transient", "transient"])
    outbox, router, dispatcher = _setup(inter, FakeSink("state-hub"))
    keys = await _enqueue(outbox, router, 20)
    with anyio.fail_after(10):
        await dispatcher.run(until_idle=True)
    delivered = await outbox.deliveries(status="delivered", limit=100)
    assert sorted(d.key for d in delivered) == sorted(keys)
    assert len(inter.sent) == 23


async def test_submission_off_with_inter_hub_forced_posts_nothing_and_loses_nothing(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OPS_EVIDENCE_SINK=inter-hub + OPS_EVIDENCE_INTER_HUB_SUBMIT=false: nothing reaches the
    Inter-Hub sink, neither events planned now nor one stored while submission was on (an
    earlier run), and every event reaches State Hub, held rows kept for the re-check."""
    inter, state = FakeSink("inter-hub"), FakeSink("state-hub")
    outbox = MemoryOutbox()
    [earlier] = await _enqueue(outbox, Router(load_settings()), 1)
    monkeypatch.setenv("OPS_EVIDENCE_SINK", "inter-hub")
    monkeypatch.setenv("OPS_EVIDENCE_INTER_HUB_SUBMIT", "false")
    router = Router(load_settings(), RetryPolicy(base=0.001, cap=0.01), random.Random(1))
    now_keys = []
    for i in range(3):
        stored, deliveries = router.plan(endpoint_event(f"now{i}"))
        await outbox.enqueue(stored, deliveries)
        now_keys.append(stored.key)
    sinks = {"inter-hub": inter, "state-hub": state}
    with anyio.fail_after(10):
        await Dispatcher(outbox, router, sinks).run(until_idle=True)
    assert inter.sent == []
    assert sorted(state.sent) == sorted([earlier, *now_keys])
    held = await outbox.deliveries(sink="inter-hub", limit=10)
    assert {d.status for d in held} == {"inter_hub_sink_deferred"}


async def test_concurrency_is_bounded(configured: None) -> None:
    """No more than `concurrency` sends are in flight per sink."""
    inter = FakeSink("inter-hub")
    inter.gate, inter.open_gate_at = anyio.Event(), 3  # hold sends until 3 are in flight
    outbox, router, dispatcher = _setup(inter, FakeSink("state-hub"), concurrency=3)
    await _enqueue(outbox, router, 12)
    with anyio.fail_after(10):
        await dispatcher.run(until_idle=True)
    assert inter.peak == 3
    assert len(inter.sent) == 12


async def test_rejection_falls_back_to_state_hub(configured: None) -> None:
    """A rejected event is delivered to State Hub in the same drain."""
    state = FakeSink("state-hub")
    outbox, router, dispatcher = _setup(FakeSink("inter-hub", ["rejected"]), state)
    [key] = await _enqueue(outbox, router, 1)
    with anyio.fail_after(10):
        await dispatcher.run(until_idle=True)
    assert state.sent == [key]
    statuses = {d.sink: d.status for d in await outbox.deliveries()}
    assert statuses == {"inter-hub": "rejected", "state-hub": "delivered"}


async def test_wakes_on_notify_without_polling(configured: None) -> None:
    """An idle loop sleeps until notified, then delivers the new event."""
    inter = FakeSink("inter-hub")
    outbox, router, dispatcher = _setup(inter, FakeSink("state-hub"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(dispatcher.run)
        await anyio.wait_all_tasks_blocked()
        assert inter.sent == []
        [key] = await _enqueue(outbox, router, 1)
        dispatcher.notify()
        with anyio.fail_after(5):
            await inter.finished.wait()
        assert inter.sent == [key]
        tg.cancel_scope.cancel()


async def test_cancel_mid_send_leaves_lease_not_half_record(configured: None) -> None:
    """Shutdown during a send records nothing; the delivery is ambiguous for the next run."""
    inter = FakeSink("inter-hub")
    inter.gate = anyio.Event()  # never set: the send hangs
    outbox, router, dispatcher = _setup(inter, FakeSink("state-hub"))
    await _enqueue(outbox, router, 1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(dispatcher.run)
        with anyio.fail_after(5):
            await inter.started.wait()
        tg.cancel_scope.cancel()
    [row] = await outbox.deliveries(sink="inter-hub")
    assert (row.status, row.attempts) == ("pending", 0)
    await outbox.reset_leases()
    [again] = await outbox.claim("inter-hub", 1e12, 1, 1)
    assert again.ambiguous is True


class SpyOutbox(MemoryOutbox):
    """Counts the dispatcher's outbox round trips; can hold `record` calls at a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.claims: list[list[str]] = []
        self.record_calls: list[int] = []
        self.next_due_calls: Counter[str] = Counter()
        self.record_gate: anyio.Event | None = None
        self.record_started = anyio.Event()
        self.claimed = anyio.Event()  # set by each claim that returns rows
        # Holds a `record` call after its commit (as if its caller resumed late).
        self.committed_gate: anyio.Event | None = None
        self.committed = anyio.Event()

    async def claim(
        self, sink: str, now: float, limit: int, lease_seconds: float
    ) -> list[Delivery]:
        claimed = await super().claim(sink, now, limit, lease_seconds)
        if claimed:
            self.claimed.set()
            self.claims.append([d.key for d in claimed])
        return claimed

    async def record(self, results: Sequence[Result], now: float) -> None:
        self.record_calls.append(len(results))
        self.record_started.set()
        if self.record_gate is not None:
            await self.record_gate.wait()
        await super().record(results, now)
        self.committed.set()
        if self.committed_gate is not None:
            await self.committed_gate.wait()

    async def next_due(self, sink: str) -> float | None:
        self.next_due_calls[sink] += 1
        return await super().next_due(sink)


def _spy_setup(inter: FakeSink, concurrency: int) -> tuple[SpyOutbox, Router, Dispatcher]:
    outbox = SpyOutbox()
    router = Router(load_settings(), RetryPolicy(base=0.001, cap=0.01), random.Random(1))
    sinks = {"inter-hub": inter, "state-hub": FakeSink("state-hub")}
    return outbox, router, Dispatcher(outbox, router, sinks, concurrency=concurrency)


def _gated_on_a_clock(
    concurrency: int, script: list[AttemptKind] | None = None
) -> tuple[list[float], FakeSink, anyio.Event, SpyOutbox, Router, Dispatcher]:
    """A dispatcher on a hand-moved clock (`now[0]`), 60 s leases, Inter-Hub sends held at a
    gate: for the tests of what a lease allows."""
    now = [1000.0]
    inter = FakeSink("inter-hub", script)
    inter.gate = gate = anyio.Event()
    outbox = SpyOutbox()
    policy = RetryPolicy(base=0.001, cap=0.01, lease=60.0)
    router = Router(load_settings(), policy, random.Random(1), clock=lambda: now[0])
    sinks = {"inter-hub": inter, "state-hub": FakeSink("state-hub")}
    dispatcher = Dispatcher(
        outbox, router, sinks, lease=policy.lease, concurrency=concurrency, clock=lambda: now[0]
    )
    return now, inter, gate, outbox, router, dispatcher


async def test_claims_ahead_once_per_round(configured: None) -> None:
    """A backlog is claimed a round ahead (free slots + concurrency), then topped up once half
    a round is used, not once per attempt; every event is still sent exactly once."""
    inter = FakeSink("inter-hub")
    outbox, router, dispatcher = _spy_setup(inter, concurrency=4)
    keys = await _enqueue(outbox, router, 40)
    with anyio.fail_after(10):
        await dispatcher.run(until_idle=True)
    assert sorted(inter.sent) == sorted(keys)
    assert len(outbox.claims[0]) == 8  # 4 free slots + one round ahead
    assert len(outbox.claims) <= 40 // 2 + 1
    assert inter.peak <= 4


async def test_no_due_time_read_while_every_slot_is_busy(configured: None) -> None:
    """With all slots in flight the loop waits for a finishing attempt, not the outbox."""
    inter = FakeSink("inter-hub")
    inter.gate = anyio.Event()  # sends hang until set
    outbox, router, dispatcher = _spy_setup(inter, concurrency=2)
    await _enqueue(outbox, router, 6)
    async with anyio.create_task_group() as tg:
        tg.start_soon(dispatcher.run)
        await anyio.wait_all_tasks_blocked()
        assert inter.active == 2
        assert outbox.next_due_calls["inter-hub"] == 0
        dispatcher.notify("inter-hub")  # wake-ups while busy do not reach the outbox either
        await anyio.wait_all_tasks_blocked()
        assert outbox.next_due_calls["inter-hub"] == 0
        inter.gate.set()
        with anyio.fail_after(5):
            await _all_sent(inter, 6)
        tg.cancel_scope.cancel()


async def _all_sent(sink: FakeSink, count: int) -> None:
    while len(sink.sent) < count:
        sink.finished = anyio.Event()
        await sink.finished.wait()


async def test_results_finishing_together_are_recorded_in_one_call(configured: None) -> None:
    """While one record is being written, the results that finish meanwhile are recorded
    together in the next single call; each attempt returns only once its result is stored."""
    inter = FakeSink("inter-hub")
    outbox, router, dispatcher = _spy_setup(inter, concurrency=4)
    outbox.record_gate = anyio.Event()
    keys = await _enqueue(outbox, router, 4)
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(dispatcher.run, until_idle=True))
        with anyio.fail_after(5):
            await outbox.record_started.wait()
        await anyio.wait_all_tasks_blocked()  # the other three have finished their sends
        assert len(inter.sent) == 4
        assert dispatcher.outcomes["inter-hub", "delivered"] == 0  # nothing stored yet
        outbox.record_gate.set()
    assert outbox.record_calls == [1, 3]
    delivered = await outbox.deliveries(status="delivered")
    assert sorted(d.key for d in delivered) == sorted(keys)
    assert dispatcher.outcomes["inter-hub", "delivered"] == 4


async def test_group_record_failure_reaches_every_caller() -> None:
    """If the group's transaction fails, each result's caller gets the error."""

    class Failing(MemoryOutbox):
        async def record(self, results: Sequence[Result], now: float) -> None:
            del results, now
            await anyio.sleep(0.01)
            raise OutboxError("disk full")

    recorder = GroupRecorder(Failing(), lambda: 0.0)
    errors: list[str] = []

    async def one(n: int) -> None:
        try:
            await recorder.record(Result(f"k{n}", "inter-hub", "delivered"))
        except OutboxError as exc:
            errors.append(str(exc))

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(one, n)
    assert errors == ["disk full"] * 3
    assert recorder.calls == 2  # the first alone, then the two that waited


async def test_claimed_ahead_delivery_held_past_half_its_lease_is_not_sent(
    configured: None,
) -> None:
    """A claimed-ahead delivery whose lease is half gone is dropped unsent and claimed
    again once the lease has ended; each event is still sent once."""
    now, inter, gate, outbox, router, dispatcher = _gated_on_a_clock(concurrency=1)
    keys = await _enqueue(outbox, router, 2)
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(dispatcher.run, until_idle=True))
        with anyio.fail_after(5):
            await inter.started.wait()
        assert outbox.claims == [keys]  # the second claimed ahead, waiting for the slot
        now[0] += 61.0  # the first send took longer than half the lease (and the lease)
        gate.set()
    assert inter.sent == keys
    assert outbox.claims[1] == [keys[1]]  # dropped unsent, then claimed again


async def test_a_row_claimed_again_while_its_attempt_runs_is_not_sent_twice(
    configured: None,
) -> None:
    """An attempt that outlives its lease (a slow hub) lets the row be claimed again; the
    dispatcher does not start a second attempt of it while the first runs."""
    now, inter, gate, outbox, router, dispatcher = _gated_on_a_clock(concurrency=2)
    [key] = await _enqueue(outbox, router, 1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(dispatcher.run, until_idle=True))
        with anyio.fail_after(5):
            await inter.started.wait()
        now[0] += 61.0  # the lease has run out while the send is still waiting
        outbox.claimed = anyio.Event()
        dispatcher.notify("inter-hub")
        with anyio.fail_after(5):
            await outbox.claimed.wait()  # the row is claimed again
        await anyio.wait_all_tasks_blocked()
        assert len(outbox.claims) == 2
        assert inter.active == 1  # the second claim did not start a second send
        gate.set()
    assert inter.sent == [key]


async def test_a_row_claimed_again_just_after_its_result_is_written_is_attempted(
    configured: None,
) -> None:
    """A claim that reads the row after its attempt's result was committed, before that
    attempt has finished, holds a fresh lease: the retry is sent when due, not a lease later."""
    now, inter, gate, outbox, router, dispatcher = _gated_on_a_clock(
        concurrency=2, script=["transient"]
    )
    outbox.committed_gate = anyio.Event()
    [key] = await _enqueue(outbox, router, 1)
    with anyio.fail_after(5):  # without the fix: re-checks until the lease ends (never here)
        async with anyio.create_task_group() as tg:
            tg.start_soon(functools.partial(dispatcher.run, until_idle=True))
            try:
                await inter.started.wait()
                now[0] += 1.0  # the send took a second
                gate.set()
                await outbox.committed.wait()  # the retry is written; its attempt not finished
                now[0] += 1.0  # the retry is due
                outbox.claimed = anyio.Event()
                dispatcher.notify("inter-hub")
                await outbox.claimed.wait()  # the row is claimed again, with the retry in it
                await anyio.wait_all_tasks_blocked()
                assert inter.sent == [key]  # not sent while the first attempt runs
            finally:
                outbox.committed_gate.set()  # (the recording is shielded: never leave it held)
    assert inter.sent == [key, key]
    assert len(outbox.claims) == 2  # sent as claimed, not claimed again after a lease


async def test_until_idle_returns_without_waiting_for_a_recheck(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When one sink's loop finds everything idle it wakes the others, so `run(until_idle)`
    returns as soon as the work is done, not at the other loops' next periodic re-check."""
    monkeypatch.setattr(dispatcher_module, "IDLE_RECHECK", 30.0)
    inter = FakeSink("inter-hub")
    outbox, router, dispatcher = _setup(inter, FakeSink("state-hub"))
    await _enqueue(outbox, router, 3)
    with anyio.fail_after(10):  # the state-hub loop would otherwise sleep 30 s
        await dispatcher.run(until_idle=True)
    assert len(inter.sent) == 3


async def test_retry_is_attempted_when_due_not_when_the_lease_ends(configured: None) -> None:
    """A transient failure's retry (due in milliseconds) is attempted then: recording the
    result wakes the loop, which would otherwise sleep until the old lease ran out (60 s)."""

    class SlowRecord(MemoryOutbox):
        async def record(self, results: Sequence[Result], now: float) -> None:
            await anyio.sleep(0.05)  # a commit takes a while: the slot is free before it ends
            await super().record(results, now)

    inter = FakeSink("inter-hub", ["transient"])
    outbox = SlowRecord()
    router = Router(load_settings(), RetryPolicy(base=0.001, cap=0.01), random.Random(1))
    sinks = {"inter-hub": inter, "state-hub": FakeSink("state-hub")}
    dispatcher = Dispatcher(outbox, router, sinks)
    [key] = await _enqueue(outbox, router, 1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(dispatcher.run)
        with anyio.fail_after(5):
            await _all_sent(inter, 2)
        tg.cancel_scope.cancel()
    assert inter.sent == [key, key]


async def test_one_log_line_per_delivery_outcome(configured: None) -> None:
    """Each recorded outcome logs one JSON line (info when delivered, warning otherwise) with
    sink, key, type, status and attempts; fields without a value are left out."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    inter = FakeSink("inter-hub", ["rejected"])
    outbox, router, dispatcher = _setup(inter, FakeSink("state-hub"))
    keys = await _enqueue(outbox, router, 2)
    with anyio.fail_after(10):
        await dispatcher.run(until_idle=True)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    outcomes = sorted((line["event"], line["sink"], line["level"]) for line in lines)
    assert outcomes == [
        ("delivery_rejected", "inter-hub", "warning"),
        ("event_delivered", "inter-hub", "info"),
        ("event_delivered", "state-hub", "info"),
    ]
    assert {line["key"] for line in lines} == set(keys)
    for line in lines:
        assert line["event_type"] == "ops-endpoint-verified"
        assert line["attempts"] == 1
        if line["event"] == "event_delivered":
            assert "error" not in line
            assert "fallback" not in line
        else:
            assert line["fallback"] == "state-hub"


class HoldSink:
    """Each send waits until its key is released; records the order sends started in."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started: list[str] = []
        self.release: dict[str, anyio.Event] = {}

    async def send(self, delivery: Delivery) -> Attempt:
        self.started.append(delivery.key)
        await self.release.setdefault(delivery.key, anyio.Event()).wait()
        return Attempt("delivered")


async def test_freed_slot_starts_the_next_claimed_delivery_while_a_claim_waits(
    configured: None,
) -> None:
    """A finished attempt hands its slot to the next claimed-ahead delivery itself, so the
    slot does not sit idle while the loop waits for a slow claim."""

    class SlowClaims(MemoryOutbox):
        def __init__(self) -> None:
            super().__init__()
            self.claims = 0
            self.gate = anyio.Event()

        async def claim(
            self, sink: str, now: float, limit: int, lease_seconds: float
        ) -> list[Delivery]:
            self.claims += 1
            if sink == "inter-hub" and self.claims > 1:
                await self.gate.wait()  # every claim after the first hangs
            return await super().claim(sink, now, limit, lease_seconds)

    inter = HoldSink("inter-hub")
    outbox = SlowClaims()
    router = Router(load_settings(), RetryPolicy(base=0.001, cap=0.01), random.Random(1))
    sinks: dict[str, Sink] = {"inter-hub": inter, "state-hub": FakeSink("state-hub")}
    dispatcher = Dispatcher(outbox, router, sinks, concurrency=2)
    keys = await _enqueue(outbox, router, 6)
    async with anyio.create_task_group() as tg:
        tg.start_soon(dispatcher.run)
        await anyio.wait_all_tasks_blocked()
        assert inter.started == keys[:2]  # 4 claimed: 2 sending, 2 ahead
        for key in keys[:2]:
            inter.release.setdefault(key, anyio.Event()).set()
            await anyio.wait_all_tasks_blocked()
        # The loop is stuck in its second claim, yet both freed slots went to the 2 ahead.
        assert inter.started == keys[:4]
        outbox.gate.set()
        for key in keys:
            inter.release.setdefault(key, anyio.Event()).set()
        with anyio.fail_after(5):
            while len(inter.started) < 6:
                await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()


class ElsewhereOutbox(MemoryOutbox):
    """Memory outbox that another 'process' (the test) can write behind the dispatcher's back."""

    def __init__(self) -> None:
        super().__init__()
        self.foreign_commit = False
        self.questions = 0
        self.asked = anyio.Event()  # set at each question

    async def changed_elsewhere(self) -> bool:
        self.questions += 1
        self.asked.set()
        changed, self.foreign_commit = self.foreign_commit, False
        return changed


async def test_rows_made_due_by_another_process_wake_an_idle_loop(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle dispatcher delivers a row that another process made due (no notify) at its
    next check of the outbox, and asks nothing else while idle."""
    monkeypatch.setattr(dispatcher_module, "ELSEWHERE_EVERY", 0.05)
    inter = FakeSink("inter-hub")
    outbox = ElsewhereOutbox()
    router = Router(load_settings(), RetryPolicy(base=0.001, cap=0.01), random.Random(1))
    dispatcher = Dispatcher(
        outbox, router, {"inter-hub": inter, "state-hub": FakeSink("state-hub")}
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(dispatcher.run)
        # Idle and checking: its periodic question means every loop is asleep (waiting for
        # all tasks to block would wait out the 50 ms timer again and again).
        with anyio.fail_after(5):
            await outbox.asked.wait()
        [key] = await _enqueue(outbox, router, 1)  # as `outbox replay` would: no notify
        outbox.foreign_commit = True
        with anyio.fail_after(5):
            await inter.finished.wait()
        assert inter.sent == [key]
        dispatcher.stop()
    assert outbox.questions >= 1


async def test_stop_ends_run_without_waiting_for_the_next_check(configured: None) -> None:
    """stop() ends a running dispatcher at once, not at the next 5 s check of the outbox."""
    *_, dispatcher = _setup(FakeSink("inter-hub"), FakeSink("state-hub"))
    with anyio.fail_after(dispatcher_module.ELSEWHERE_EVERY / 2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(dispatcher.run)
            await anyio.wait_all_tasks_blocked()
            dispatcher.stop()


class CrashingSink(FakeSink):
    """Raises (a bug, with a secret in its message) on each key's first send."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.crashed: set[str] = set()

    async def send(self, delivery: Delivery) -> Attempt:
        if delivery.key not in self.crashed:
            self.crashed.add(delivery.key)
            raise RuntimeError("sink bug; token=Bearer abcdefghijklmnopqrstuvwxyz0123456789")
        return await super().send(delivery)


async def test_a_sink_that_raises_is_a_transient_ambiguous_attempt(configured: None) -> None:
    """A sink that raises logs sink_crashed (redacted, with the traceback), becomes a
    retrying, ambiguous result, and the loop goes on to deliver every event."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    inter = CrashingSink("inter-hub")
    outbox = MemoryOutbox()
    router = Router(load_settings(), RetryPolicy(base=0.001, cap=0.01), random.Random(1))
    results: list[Result] = []
    dispatcher = Dispatcher(
        outbox,
        router,
        {"inter-hub": inter, "state-hub": FakeSink("state-hub")},
        observers=[lambda _d, _a, result: results.append(result)],
    )
    keys = await _enqueue(outbox, router, 3)
    with anyio.fail_after(10):
        await dispatcher.run(until_idle=True)
    assert sorted(inter.sent) == sorted(keys)
    first = [r for r in results if r.status != "delivered"]
    assert len(first) == 3
    assert all(r.status == "retrying" and r.ambiguous for r in first)
    assert {r.error for r in first} == {"sink error: RuntimeError"}
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    crashed = [line for line in lines if line["event"] == "sink_crashed"]
    assert sorted(line["key"] for line in crashed) == sorted(keys)
    assert all(line["level"] == "error" and line["sink"] == "inter-hub" for line in crashed)
    assert "RuntimeError" in json.dumps(crashed[0]["exception"])
    assert "abcdefghijklmnopqrstuvwxyz0123456789" not in stream.getvalue()

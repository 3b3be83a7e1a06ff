"""Dispatcher with fake sinks: drains, wakes on notify, bounds concurrency, falls back."""

from __future__ import annotations

import random

import anyio
import pytest

from ops_evidence.backoff import RetryPolicy
from ops_evidence.dispatcher import Dispatcher
from ops_evidence.outbox import MemoryOutbox
from ops_evidence.outbox.models import Delivery
from ops_evidence.router import Router
from ops_evidence.settings import load_settings
from ops_evidence.sinks.base import Attempt, AttemptKind
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

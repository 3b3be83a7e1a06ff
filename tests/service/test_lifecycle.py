"""Months of unattended running before go-live, on a simulated clock: nothing is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ops_evidence.config.settings import load_settings
from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.delivery.dispatcher import Dispatcher
from ops_evidence.delivery.outbox.models import Stats
from ops_evidence.delivery.router import Router
from ops_evidence.delivery.sinks.state_hub import StateHubSink
from ops_evidence.emulator import create_app
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.schedule.emission_state import MemoryProbeState
from ops_evidence.schedule.runner import Job, Scheduler
from ops_evidence.service.lifecycle import Service
from tests.delivery_support import emulator_config
from tests.factories import endpoint_event

pytestmark = pytest.mark.anyio

HOUR, DAY = 3600.0, 86_400.0
CAP = 300
# A small inventory: 6 probes, each emitting every 4 hours (its heartbeat): 36 events a day,
# 252 within the default 7-day retention, under the cap of 300.
PROBES, EVERY = 6, 4 * HOUR
STATE_HUB = "http://state-hub.test"


@dataclass
class FakeClock:
    """Simulated wall-clock time; only the test moves it."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    """The service's pieces before go-live, wired to the emulator on a fake clock."""

    service: Service
    scheduler: Scheduler
    dispatcher: Dispatcher
    clock: FakeClock
    client: httpx.AsyncClient

    async def round(self) -> int:
        """Every probe emits, the dispatcher delivers, the service prunes; events accepted."""
        self.clock.now += EVERY
        records = await self.scheduler.run_once()
        await self.dispatcher.run(until_idle=True)
        await self.service.prune()  # what its hourly loop does, on the simulated clock
        return sum(r.emitted for r in records)

    async def stored_progress(self) -> set[str]:
        """Idempotency keys State Hub (the emulator) holds."""
        records = (await self.client.get("/_emulator/progress")).json()
        return {r["idempotency_key"] for r in records}


def _job(n: int) -> Job:
    async def probe() -> EvidenceEvent:
        return endpoint_event(f"e{n}")

    return Job(f"endpoint:e{n}", "ops-endpoint-verified", EVERY, 5, EVERY, probe)


@pytest.fixture
async def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    """Inter-Hub not configured, State Hub the emulator, the real SQLite outbox capped at 300."""
    monkeypatch.setenv("STATE_HUB_URL", STATE_HUB)
    monkeypatch.setenv("OPS_EVIDENCE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("OPS_EVIDENCE_OUTBOX_MAX_ROWS", str(CAP))
    monkeypatch.setenv("OPS_EVIDENCE_OUTBOX_RETENTION", getattr(request, "param", "7d"))
    settings = load_settings()
    assert settings.inter_hub_url is None
    clock = FakeClock()
    jobs = [_job(n) for n in range(PROBES)]
    service = Service(settings, jobs, clock=clock)
    service.router = Router(settings, RetryPolicy.from_settings(settings), clock=clock)
    transport = httpx.ASGITransport(app=create_app(emulator_config()))
    async with httpx.AsyncClient(transport=transport, base_url=STATE_HUB) as client:
        sinks = {"state-hub": StateHubSink(client, STATE_HUB)}
        dispatcher = Dispatcher(service.outbox, service.router, sinks, clock=clock)
        scheduler = Scheduler(jobs, service._submit_to(dispatcher), MemoryProbeState(), clock=clock)
        await service.outbox.open()
        await scheduler.load_state()
        try:
            yield World(service, scheduler, dispatcher, clock, client)
        finally:
            await service.outbox.close()


def _only_pre_go_live_rows(stats: Stats) -> bool:
    return set(stats.by_sink_status) <= {
        ("inter-hub", "missing_inter_hub_config"),
        ("state-hub", "delivered"),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("world", "pruned_by"), [("7d", "retention"), ("30d", "cap")], indirect=["world"]
)
async def test_180_days_before_go_live_refuse_nothing(world: World, pruned_by: str) -> None:
    """180 days with Inter-Hub unconfigured (every Inter-Hub row missing_inter_hub_config,
    State Hub delivered): the outbox stays within its cap of 300 and refuses nothing, kept
    there by the retention prune (7 days) or, with a retention longer than the cap holds
    (30 days), by making room at the cap; State Hub got every event."""
    accepted, peak, start = 0, 0, world.clock.now
    while world.clock.now < start + 180 * DAY:
        accepted += await world.round()
        stats = await world.service.outbox.stats()
        peak = max(peak, stats.events)
        assert stats.refused_full == 0
    assert accepted == 180 * 24 * PROBES // 4
    if pruned_by == "retention":
        assert peak <= 8 * 24 * PROBES // 4 < CAP  # a week and a day at most, never the cap
    else:
        assert peak == CAP
    stats = await world.service.outbox.stats()
    assert _only_pre_go_live_rows(stats)
    assert len(await world.stored_progress()) == accepted


@pytest.mark.parametrize("world", ["30d"], indirect=True)  # a retention the cap cannot hold
async def test_at_the_cap_with_only_finished_rows_a_new_event_is_accepted(world: World) -> None:
    """An outbox at its cap, every row final and within the retention, still accepts the
    next event: the submit reports it accepted and nothing is counted as refused."""
    while (await world.service.outbox.stats()).events < CAP:
        await world.round()
    stats = await world.service.outbox.stats()
    assert stats.events == CAP
    assert _only_pre_go_live_rows(stats)
    submit = world.service._submit_to(world.dispatcher)
    event = endpoint_event("new")
    assert await submit(event, world.scheduler.jobs[0]) is True
    assert await world.service.outbox.event(event.idempotency_key) is not None
    assert (await world.service.outbox.stats()).refused_full == 0


async def test_a_full_outbox_refuses_loudly_and_submit_says_so(world: World) -> None:
    """With due work filling the outbox (State Hub down: nothing delivered), the submit
    reports the event refused and counts it, so the scheduler can offer it again."""
    while (await world.service.outbox.stats()).events < CAP:
        world.clock.now += EVERY
        await world.scheduler.run_once()  # enqueued, never dispatched
    submit = world.service._submit_to(world.dispatcher)
    assert await submit(endpoint_event("new"), world.scheduler.jobs[0]) is False
    assert world.service.metrics.events_refused.labels("outbox_full")._value.get() == 1
    assert (await world.service.outbox.stats()).refused_full == 1

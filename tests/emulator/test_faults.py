"""Fault injection: seeded schedules, injected statuses, 429 bursts, resets around commit."""

from __future__ import annotations

import httpx
import pytest

from ops_evidence.emulator.config import BurstConfig, FaultConfig
from ops_evidence.emulator.faults import FaultPlan
from tests.emulator.conftest import Connect, auth, hub_config
from tests.emulator.test_inter_hub import EVENTS, event

pytestmark = pytest.mark.anyio
MIXED = FaultConfig(
    seed=7,
    error_rates={500: 0.1, 502: 0.1, 503: 0.1},
    burst_429=BurstConfig(rate=0.05, length=3, retry_after=2),
    reset_before_commit=0.1,
    reset_after_commit=0.1,
)


def _schedule(config: FaultConfig, n: int = 200) -> list[tuple[str, int | None]]:
    plan = FaultPlan(config)
    return [(d.kind, d.status) for d in (plan.decide() for _ in range(n))]


def test_same_seed_same_schedule() -> None:
    """Two plans with one seed draw the same faults; another seed draws others."""
    assert _schedule(MIXED) == _schedule(MIXED)
    assert _schedule(MIXED) != _schedule(MIXED.model_copy(update={"seed": 8}))
    kinds = {kind for kind, _ in _schedule(MIXED)}
    assert kinds == {"none", "status", "burst_429", "reset_before_commit", "reset_after_commit"}


def test_burst_lasts_its_length() -> None:
    """A 429 burst answers `length` consecutive eligible requests."""
    schedule = _schedule(FaultConfig(burst_429=BurstConfig(rate=1.0, length=4)), 4)
    assert schedule == [("burst_429", 429)] * 4


def test_rates_over_one_are_refused() -> None:
    """Fault probabilities that add up to more than 1 are a configuration error."""
    with pytest.raises(ValueError, match="more than 1"):
        FaultPlan(FaultConfig(error_rates={500: 0.6, 503: 0.6}))


async def _post(client: httpx.AsyncClient) -> int | str:
    try:
        return (await client.post(EVENTS, json=event(), headers=auth())).status_code
    except httpx.TransportError as exc:
        return type(exc).__name__


async def _stored(client: httpx.AsyncClient) -> int:
    count: int = (await client.get("/_emulator/counts")).json()["interaction_events"]
    return count


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_injected_status_stores_nothing(connect: Connect, status: int) -> None:
    """An injected 5xx answers with that status and stores nothing; reads are unaffected."""
    async with connect(hub_config(faults=FaultConfig(error_rates={status: 1.0}))) as client:
        assert await _post(client) == status
        assert await _stored(client) == 0
        assert (await client.get(EVENTS, headers=auth())).status_code == 200


async def test_burst_answers_429_with_retry_after(connect: Connect) -> None:
    """During a burst each POST gets 429 and Retry-After."""
    faults = FaultConfig(burst_429=BurstConfig(rate=1.0, length=2, retry_after=5))
    async with connect(hub_config(faults=faults)) as client:
        response = await client.post(EVENTS, json=event(), headers=auth())
        assert (response.status_code, response.headers["Retry-After"]) == (429, "5")


async def test_reset_before_commit_stores_nothing(connect: Connect) -> None:
    """A reset before commit is a transport error for the client and leaves no event."""
    async with connect(hub_config(faults=FaultConfig(reset_before_commit=1.0))) as client:
        assert await _post(client) in (
            "ReadError",
            "RemoteProtocolError",
            "EmulatedConnectionReset",
        )
        assert await _stored(client) == 0


async def test_reset_after_commit_stores_exactly_one(connect: Connect) -> None:
    """The ambiguous case: the client sees a transport error, and exactly one event is stored."""
    async with connect(hub_config(faults=FaultConfig(reset_after_commit=1.0))) as client:
        assert await _post(client) in (
            "ReadError",
            "RemoteProtocolError",
            "EmulatedConnectionReset",
        )
        assert await _stored(client) == 1
        found = await client.get(EVENTS, params={"idempotencyKey": "k1"}, headers=auth())
        assert found.json()["meta"]["total"] == 1


async def test_progress_post_is_a_fault_target(connect: Connect) -> None:
    """State Hub's POST /progress/ is faulted by default too."""
    async with connect(hub_config(faults=FaultConfig(error_rates={503: 1.0}))) as client:
        response = await client.post("/progress/", json={"event_type": "x", "idempotency_key": "k"})
        assert response.status_code == 503


async def test_admin_sets_faults_and_reset_replays_the_schedule(client: httpx.AsyncClient) -> None:
    """PUT /_emulator/faults takes effect; after a reset the same seed gives the same outcomes."""
    response = await client.put("/_emulator/faults", json=MIXED.model_dump(mode="json"))
    assert response.status_code == 200
    first = [await _post(client) for _ in range(30)]
    await client.post("/_emulator/reset")
    second = [await _post(client) for _ in range(30)]
    assert first == second
    assert len(set(first)) > 2
    counts = (await client.get("/_emulator/counts")).json()
    assert sum(counts["faults"].values()) == 30


async def test_admin_rejects_bad_faults(client: httpx.AsyncClient) -> None:
    """An invalid fault config is 422 and leaves the current one in force."""
    response = await client.put("/_emulator/faults", json={"error_rates": {"404": 0.5}})
    assert response.status_code == 422
    assert (await client.get("/_emulator/faults")).json()["error_rates"] == {}


def test_latency_is_seeded() -> None:
    """Added latency is the base plus a seeded jitter, identical for identical seeds."""
    config = FaultConfig(seed=3, latency_ms=20, latency_jitter_ms=10)
    plans = [FaultPlan(config), FaultPlan(config)]
    series, again = ([p.decide().latency for _ in range(50)] for p in plans)
    assert series == again
    assert all(0.020 <= d <= 0.030 for d in series)
    assert len(set(series)) > 1

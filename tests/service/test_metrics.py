"""The outbox gauges: backlog by status, and the age of the oldest row due to be attempted."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ops_evidence.delivery.outbox import MemoryOutbox, NewDelivery, Result, StoredEvent
from ops_evidence.service.metrics import Metrics

pytestmark = pytest.mark.anyio


def _event(n: int, created: float) -> StoredEvent:
    return StoredEvent(f"k{n}", "ops-endpoint-verified", f"endpoint:e{n}", created, b"{}")


def _samples(metrics: Metrics, name: str) -> dict[tuple[str, ...], float]:
    families = text_string_to_metric_families(metrics.render().decode())
    return {
        tuple(s.labels.values()): s.value for f in families if f.name == name for s in f.samples
    }


async def test_backlog_counts_each_status_apart_and_age_skips_deferred() -> None:
    """Pending, retrying and deferred rows are separate series; the oldest-pending age is
    that of the oldest pending/retrying row, however old a deferred one is."""
    outbox, now = MemoryOutbox(), time.time()
    deferred = NewDelivery("inter-hub", b"d", "inter_hub_sink_deferred", next_attempt_at=now + 3600)
    await outbox.enqueue(_event(1, now - 86_400), [deferred, NewDelivery("state-hub", b"s")])
    await outbox.enqueue(_event(2, now - 60), [NewDelivery("inter-hub", b"r")])
    [retry] = await outbox.claim("inter-hub", now=now, limit=1, lease_seconds=30)
    await outbox.record([Result(retry.key, "inter-hub", "retrying", now + 5)], now=now)
    [copy] = await outbox.claim("state-hub", now=now, limit=1, lease_seconds=30)
    await outbox.record([Result(copy.key, "state-hub", "delivered")], now=now)
    await outbox.enqueue(_event(3, now - 30), [NewDelivery("state-hub", b"p")])
    metrics = Metrics()
    await metrics.refresh(outbox)
    backlog = _samples(metrics, "ops_evidence_outbox_backlog_deliveries")
    assert backlog == {
        ("inter-hub", "pending"): 0,
        ("inter-hub", "retrying"): 1,
        ("inter-hub", "inter_hub_sink_deferred"): 1,
        ("state-hub", "pending"): 1,
        ("state-hub", "retrying"): 0,
        ("state-hub", "inter_hub_sink_deferred"): 0,
    }
    [age] = _samples(metrics, "ops_evidence_outbox_oldest_pending_age_seconds").values()
    assert 60 <= age < 3600  # the retrying row's, not the day-old deferred one's
    active = _samples(metrics, "ops_evidence_outbox_active_deliveries")
    assert active == {("inter-hub",): 2, ("state-hub",): 1}


async def test_backlog_of_a_sink_whose_rows_are_gone_reads_zero() -> None:
    """Once every row of a sink is pruned, its backlog series read 0, not their last value."""
    outbox = MemoryOutbox()
    await outbox.enqueue(_event(1, 0), [NewDelivery("state-hub", b"s")])
    metrics = Metrics()
    await metrics.refresh(outbox)
    [d] = await outbox.claim("state-hub", now=1, limit=1, lease_seconds=30)
    await outbox.record([Result(d.key, "state-hub", "delivered")], now=1)
    assert await outbox.prune(delivered_before=2) == 1
    await metrics.refresh(outbox)
    assert (
        _samples(metrics, "ops_evidence_outbox_backlog_deliveries")[("state-hub", "pending")] == 0
    )
    assert _samples(metrics, "ops_evidence_outbox_active_deliveries") == {("state-hub",): 0}

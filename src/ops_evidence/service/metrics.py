"""Prometheus metrics on a private registry (no process-global state, testable)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ops_evidence.delivery.outbox.base import Outbox
from ops_evidence.delivery.outbox.models import BACKLOG_STATUSES, Delivery, Result
from ops_evidence.delivery.sinks.base import Attempt
from ops_evidence.schedule.runner import RunRecord

_PREFIX = "ops_evidence"


class Metrics:
    """Every instrument the service exposes on /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # Registered in this order, so /metrics lists them in it: probes, delivery, outbox.
        self._probe_instruments()
        self._delivery_instruments()
        self._outbox_instruments()
        self._outbox_sinks: set[str] = set()

    def _probe_instruments(self) -> None:
        r = self.registry
        self.probe_runs = Counter(
            f"{_PREFIX}_probe_runs",
            "Probe runs by event type and verdict.",
            ["event_type", "verdict"],
            registry=r,
        )
        self.probe_duration = Histogram(
            f"{_PREFIX}_probe_duration_seconds",
            "Probe run time.",
            ["event_type"],
            registry=r,
            buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30),
        )
        self.probe_lateness = Histogram(
            f"{_PREFIX}_probe_lateness_seconds",
            "Start delay behind schedule.",
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 5),
        )

    def _delivery_instruments(self) -> None:
        r = self.registry
        self.events_enqueued = Counter(
            f"{_PREFIX}_events_enqueued",
            "Events committed to the outbox.",
            ["event_type"],
            registry=r,
        )
        self.events_refused = Counter(
            f"{_PREFIX}_events_refused", "Events refused by the outbox.", ["reason"], registry=r
        )
        self.deliveries = Counter(
            f"{_PREFIX}_deliveries",
            "Delivery attempts by sink and outcome.",
            ["sink", "outcome"],
            registry=r,
        )
        self.retries = Counter(
            f"{_PREFIX}_delivery_retries", "Attempts that will be retried.", ["sink"], registry=r
        )

    def _outbox_instruments(self) -> None:
        r = self.registry
        self.outbox_active = Gauge(
            f"{_PREFIX}_outbox_active_deliveries",
            "Deliveries not yet final (pending, retrying, deferred).",
            ["sink"],
            registry=r,
        )
        self.outbox_backlog = Gauge(
            f"{_PREFIX}_outbox_backlog_deliveries",
            "Deliveries not yet final by status: pending, retrying, inter_hub_sink_deferred.",
            ["sink", "status"],
            registry=r,
        )
        self.outbox_events = Gauge(f"{_PREFIX}_outbox_events", "Events in the outbox.", registry=r)
        self.outbox_oldest = Gauge(
            f"{_PREFIX}_outbox_oldest_pending_age_seconds",
            "Age of the oldest delivery due to be attempted (pending or retrying; deferred "
            "rows are left out).",
            registry=r,
        )

    def observe_run(self, record: RunRecord) -> None:
        """Count a probe run."""
        event_type = record.job.event_type
        verdict = "error" if record.event is None else record.event.attributes.verdict
        self.probe_runs.labels(event_type, verdict).inc()
        self.probe_duration.labels(event_type).observe(record.duration)
        self.probe_lateness.observe(record.lateness)

    def observe_delivery(self, delivery: Delivery, _: Attempt | None, result: Result) -> None:
        """Count a delivery outcome."""
        self.deliveries.labels(delivery.sink, result.status).inc()
        if result.status == "retrying":
            self.retries.labels(delivery.sink).inc()

    async def refresh(self, outbox: Outbox) -> None:
        """Update the outbox gauges (called at scrape time)."""
        stats = await outbox.stats()
        backlog = stats.backlog()
        # A sink whose rows were all pruned reads 0, not its last value.
        self._outbox_sinks |= backlog.keys()
        for sink in self._outbox_sinks:
            counts = backlog.get(sink, dict.fromkeys(BACKLOG_STATUSES, 0))
            self.outbox_active.labels(sink).set(sum(counts.values()))
            for status, count in counts.items():
                self.outbox_backlog.labels(sink, status).set(count)
        self.outbox_events.set(stats.events)
        oldest = stats.oldest_pending_at
        self.outbox_oldest.set(0 if oldest is None else max(0.0, time.time() - oldest))

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

"""The listener's routes, served on loopback: readiness gate, metrics format, status page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ops_evidence.delivery.outbox import MemoryOutbox, NewDelivery, StoredEvent
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.probes import ProbeContext, find_target, run_probe
from ops_evidence.schedule.runner import Job, RunRecord
from ops_evidence.service.metrics import Metrics
from ops_evidence.service.web import ServiceView, routes
from tests.factories import endpoint_event
from tests.probes.readiness.evidence import inventory
from tests.servers import serve_listener

pytestmark = pytest.mark.anyio


async def _noop() -> None:  # pragma: no cover - never called
    raise AssertionError


@asynccontextmanager
async def _client(view: ServiceView) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_listener(routes(view)) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def _status_page(view: ServiceView, event: EvidenceEvent, key: str) -> str:
    """The status page after the probe `key` last produced `event`."""
    job = Job(key, event.event_type, 60, 5, 3600, _noop)  # type: ignore[arg-type]
    view.results[key] = RunRecord(job, event, 0.0, 0.1, 0.0, True)
    async with _client(view) as client:
        return (await client.get("/")).text


async def test_readyz_is_503_until_ready() -> None:
    """Before the outbox is open and the service says ready, /readyz is 503; then 200."""
    view = ServiceView(Metrics())
    async with _client(view) as client:
        assert (await client.get("/readyz")).status_code == 503
        assert (await client.get("/healthz")).status_code == 200
        view.outbox, view.ready = MemoryOutbox(), True
        assert (await client.get("/readyz")).status_code == 200


async def test_status_page_lists_every_probe_and_escapes() -> None:
    """Every probe appears, with verdict and reason; untrusted text is HTML-escaped."""
    view = ServiceView(
        Metrics(),
        MemoryOutbox(),
        probes=[("endpoint:reg", "ops-endpoint-verified"), ("backup:db", "ops-backup-verified")],
        sinks={"inter-hub": "<b>x</b>"},
        ready=True,
    )
    page = await _status_page(view, endpoint_event("reg", verified=False), "endpoint:reg")
    assert "endpoint:reg" in page
    assert "status_mismatch" in page
    assert "backup:db" in page
    assert "not run yet" in page
    assert "<b>x</b>" not in page


async def test_status_page_shows_gates_and_waves() -> None:
    """Gate probes' last events appear as a gate table; waves follow from their statuses."""
    inv = inventory()
    target = find_target(inv, "gate:OPS-G01")
    assert target is not None
    event = await run_probe(ProbeContext(inv), target)
    view = ServiceView(
        Metrics(),
        MemoryOutbox(),
        ready=True,
        probes=[
            ("gate:OPS-G01", "ops-readiness-gate-updated"),
            ("gate:OPS-G02", "ops-readiness-gate-updated"),
        ],
    )
    page = await _status_page(view, event, "gate:OPS-G01")
    assert "<h2>Readiness gates</h2>" in page
    assert "Environment inventory exists" in page
    assert '<span class="ok">ready</span>' in page
    assert "not evaluated yet" in page
    assert "<h2>Migration waves</h2>" in page
    assert "OPS-G01 ready, OPS-G02 unknown, OPS-G15 unknown" in page


async def test_metrics_parse() -> None:
    """/metrics is valid Prometheus text with the outbox gauges."""
    view = ServiceView(Metrics(), MemoryOutbox(), ready=True)
    async with _client(view) as client:
        response = await client.get("/metrics")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert "ops_evidence_outbox_oldest_pending_age_seconds" in names


async def test_status_page_shows_the_backlog_by_status() -> None:
    """The outbox section counts pending, retrying and deferred rows apart."""
    outbox = MemoryOutbox()
    deferred = NewDelivery("inter-hub", b"d", "inter_hub_sink_deferred", next_attempt_at=9e9)
    await outbox.enqueue(StoredEvent("k1", "t", "c", 0.0, b"{}"), [deferred])
    await outbox.enqueue(StoredEvent("k2", "t", "c", 0.0, b"{}"), [NewDelivery("state-hub", b"")])
    view = ServiceView(Metrics(), outbox, ready=True)
    async with _client(view) as client:
        page = (await client.get("/")).text
    assert "backlog: 1 pending, 0 retrying" in page
    assert "1 deferred" in page


async def test_status_page_shows_exempt_gates() -> None:
    """An exempt gate reads `exempt`; an exempt gate the evidence made ready reads
    `ready (exempt)`, never a plain ready; the wave it lets through is `yes (exempt)`."""
    exemption = {"owner": "platform-team", "reason": "audit pending", "expires": "2099-01-01"}
    inv = inventory(exemptions={"OPS-G01": exemption, "OPS-G09": exemption})
    view = ServiceView(
        Metrics(),
        MemoryOutbox(),
        ready=True,
        probes=[(f"gate:{g}", "ops-readiness-gate-updated") for g in ("OPS-G01", "OPS-G09")],
    )
    for key in ("gate:OPS-G01", "gate:OPS-G09"):
        target = find_target(inv, key)
        assert target is not None
        page = await _status_page(view, await run_probe(ProbeContext(inv), target), key)
    assert '<span class="wait">ready (exempt)</span>' in page
    assert '<span class="ok">ready</span>' not in page
    assert '<span class="wait">exempt</span>' in page
    assert "exempt until 2099-01-01 (owner platform-team): audit pending" in page
    assert "OPS-G09 exempt, OPS-G10 unknown" in page

"""The State Hub fallback body built from the row's seed is byte-for-byte the body built, as
before, from the event reloaded from the outbox and validated again."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ops_evidence.config.settings import Settings, load_settings
from ops_evidence.delivery.outbox import SqliteOutbox
from ops_evidence.delivery.outbox.schema import MIGRATIONS
from ops_evidence.delivery.router import Router
from ops_evidence.delivery.sinks.base import Attempt, AttemptKind
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.registry import parse_event
from ops_evidence.events.types import EndpointVerified, EndpointVerifiedAttributes
from ops_evidence.events.vocabulary import STATE_HUB_EVENT_TYPE
from ops_evidence.events.wire import canonical_json, event_attributes
from ops_evidence.redact import redact
from tests.factories import endpoint_event

pytestmark = pytest.mark.anyio


def old_progress_body(event: EvidenceEvent, *, status: str, reason: str | None) -> dict[str, Any]:
    """`events.wire.progress_body` as it was before the seed (kept verbatim to pin the bytes)."""
    attrs = event.attributes
    verdict = "verified" if attrs.verified else f"not verified ({attrs.reason or 'unknown'})"
    detail: dict[str, Any] = {
        "event_type": event.event_type,
        "context_key": event.context_key,
        "run_id": event.run_id,
        "inter_hub_status": status,
        "attributes": event_attributes(event),
    }
    if reason:
        detail["inter_hub_reason"] = reason
    return {
        "event_type": STATE_HUB_EVENT_TYPE,
        "idempotency_key": event.idempotency_key,
        "summary": f"{event.event_type} {event.context_key}: {verdict}",
        "detail": redact(detail),
    }


def awkward_event() -> EndpointVerified:
    """Attributes that stress the redaction: one header more than `redact` keeps, in an
    order that sorting changes (so a different one is cut), a secret-looking reason, a
    float and a datetime."""
    # 51 names: capped to 50 plus a marker, as many entries as before the cap.
    headers = {"ž-sorts-last": "é"} | {f"X-H{n:02d}": f"v{n}" for n in range(50, 0, -1)}
    return EndpointVerified.build(
        context_key="endpoint:awkward",
        attributes=EndpointVerifiedAttributes(
            verified=False,
            endpoint="awkward",
            url="https://r.test/v2/",
            expected_status=[200],
            observed_status=500,
            observed_headers=headers,
            latency_ms=12.345678,
            tls_not_after=datetime(2027, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
            reason="status_mismatch token=abcdef0123456789 ünïcode",
        ),
    )


def colliding_event() -> EndpointVerified:
    """Two header names that redact to the same text (their query is cut): the later wins,
    and sorting the keys (as the stored JSON does) changes which one is later."""
    headers = {"https://h.test/p?b=1": "first", "https://h.test/p?a=2": "second"}
    return EndpointVerified.build(
        context_key="endpoint:colliding",
        attributes=EndpointVerifiedAttributes(
            verified=True, endpoint="colliding", url="https://r.test/", observed_headers=headers
        ),
    )


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Inter-Hub configured, every endpoint on one aggregate widget."""
    monkeypatch.setenv("INTER_HUB_URL", "https://hub.test")
    monkeypatch.setenv("OPS_HUB_KEY", "k-0123456789")
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", '{"event_types": {"ops-endpoint-verified": "w"}}')
    return load_settings()


@pytest.mark.parametrize(
    "make", [awkward_event, colliding_event, endpoint_event, lambda: endpoint_event("x", False)]
)
@pytest.mark.parametrize(
    ("kind", "error"), [("rejected", "422 Unprocessable: bad"), ("auth", None), ("unroutable", "")]
)
async def test_fallback_from_the_row_matches_the_reloaded_event(
    settings: Settings, tmp_path: Path, make: Any, kind: AttemptKind, error: str | None
) -> None:
    """Through a real SQLite outbox: the fallback decided after an attempt, from the claimed
    row alone, has exactly the bytes the old reload-and-validate construction gave."""
    router = Router(settings, clock=lambda: 1000.0)
    outbox = SqliteOutbox(tmp_path / "o.sqlite3")
    await outbox.open()
    try:
        stored, deliveries = router.plan(make())
        await outbox.enqueue(stored, deliveries)
        [delivery] = await outbox.claim("inter-hub", 1000.0, 10, 60.0)
        result = router.decide(delivery, Attempt(kind, 400, error), 1001.0)
        reloaded = await outbox.event(delivery.key)
    finally:
        await outbox.close()
    assert result.fallback is not None
    assert reloaded is not None
    event = parse_event(json.loads(reloaded.event_json))
    reason = result.error or result.status
    old = canonical_json(old_progress_body(event, status=result.status, reason=reason))
    assert result.fallback.body == old


async def test_plan_time_fallback_matches_the_old_construction(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fallback planned at enqueue (submission off) has the old construction's bytes too."""
    monkeypatch.setenv("OPS_EVIDENCE_INTER_HUB_SUBMIT", "false")
    event = awkward_event()
    _, [_, fallback] = Router(load_settings()).plan(event)
    status, reason = "inter_hub_sink_deferred", "OPS_EVIDENCE_INTER_HUB_SUBMIT"
    assert fallback.body == canonical_json(old_progress_body(event, status=status, reason=reason))


async def test_upgrading_a_v4_outbox_seeds_its_inter_hub_rows(tmp_path: Path) -> None:
    """Migration 5 gives each stored Inter-Hub row the seed of its event, so its later
    fallback has the old bytes; a row whose event cannot be read gets none (the old reload
    could not build one either), and State Hub rows need none."""
    path, event = tmp_path / "outbox.sqlite3", awkward_event()
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:4]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 4")
    event_json = canonical_json(event.model_dump(mode="json"))
    for key, blob in ((event.idempotency_key, event_json), ("broken", b"{}")):
        conn.execute("INSERT INTO events VALUES (?, 't', 'c', 100.0, ?)", (key, blob))
        for sink in ("inter-hub", "state-hub"):
            conn.execute(
                "INSERT INTO deliveries (key, sink, status, body, widget_id, event_type, "
                "context_key, created_at, updated_at) VALUES (?, ?, 'pending', x'7b7d', 'w', "
                "'ops-endpoint-verified', 'c', 100.0, 100.0)",
                (key, sink),
            )
    conn.commit()
    conn.close()
    box = SqliteOutbox(path)
    await box.open()
    rows = {(d.key, d.sink): d for d in await box.deliveries()}
    await box.close()
    assert rows["broken", "inter-hub"].fallback_seed is None
    assert rows[event.idempotency_key, "state-hub"].fallback_seed is None
    seeded = rows[event.idempotency_key, "inter-hub"]
    result = Router(load_settings()).decide(seeded, Attempt("rejected", 422, "no"), 200.0)
    assert result.fallback is not None
    reloaded = parse_event(json.loads(event_json))  # what the old fallback was built from
    old = old_progress_body(reloaded, status="rejected", reason="no")
    assert result.fallback.body == canonical_json(old)

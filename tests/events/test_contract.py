"""The event contract: envelope rules, committed schemas, and wire bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import jsonschema
import pytest
from pydantic import ValidationError

from ops_evidence.events import event_types, parse_event
from ops_evidence.events.schemas import event_schema, stale_schemas
from ops_evidence.events.types import EndpointVerified, EndpointVerifiedAttributes
from ops_evidence.events.wire import canonical_json, interaction_event_body, progress_body
from ops_evidence.redact import register_secret
from tests.conftest import REPO


def _registry_event(**attrs: object) -> EndpointVerified:
    base: dict[str, object] = {
        "verified": True,
        "endpoint": "gitea-registry",
        "url": "https://gitea.coulomb.social/v2/",
        "expected_status": [401],
        "observed_status": 401,
        "observed_headers": {"Docker-Distribution-Api-Version": "registry/2.0"},
    }
    base.update(attrs)
    return EndpointVerified.build(
        context_key="endpoint:gitea-registry",
        attributes=EndpointVerifiedAttributes.model_validate(base),
        observed_at=datetime(2026, 6, 15, 12, 0, tzinfo=timezone(timedelta(hours=2))),
    )


def test_seven_types_with_committed_schemas() -> None:
    """The five seed event types, ops-restore-tested and ops-readiness-gate-updated exist;
    event-types/ equals the models."""
    assert event_types() == [
        "ops-service-observed",
        "ops-endpoint-verified",
        "ops-access-path-checked",
        "ops-backup-verified",
        "ops-restore-tested",
        "ops-inventory-drift",
        "ops-readiness-gate-updated",
    ]
    assert stale_schemas(REPO / "event-types") == []


def test_envelope() -> None:
    """observed_at is UTC and the idempotency key is run|context|type."""
    event = _registry_event()
    assert event.observed_at == datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
    assert event.idempotency_key == f"{event.run_id}|endpoint:gitea-registry|ops-endpoint-verified"
    data = json.loads(event.model_dump_json())
    jsonschema.validate(data, event_schema("ops-endpoint-verified"))
    assert parse_event(data) == event


def test_envelope_rejects_inconsistent_key() -> None:
    """A tampered idempotency key is a validation error."""
    data = json.loads(_registry_event().model_dump_json())
    data["idempotency_key"] = "other"
    with pytest.raises(ValidationError, match="idempotency_key must be"):
        parse_event(data)


def test_interaction_event_body_matches_the_seed_shape() -> None:
    """widgetId, eventType, viewContext, metadata with VSM fields and observed_at."""
    event = _registry_event()
    body = interaction_event_body(event, "w-42", "railiance-apps/workplans/RAIL-AP-WP-0001")
    assert body["widgetId"] == "w-42"
    assert body["eventType"] == "ops-endpoint-verified"
    assert body["viewContext"] == "railiance-apps/workplans/RAIL-AP-WP-0001"
    meta = body["metadata"]
    assert (meta["vsmFunction"], meta["vsmSystem"]) == ("OPS", "S1")
    assert meta["idempotencyKey"] == event.idempotency_key
    assert meta["attributes"]["observed_at"] == "2026-06-15T10:00:00Z"
    assert meta["attributes"]["observed_status"] == 401
    assert canonical_json(body) == canonical_json(json.loads(canonical_json(body)))


def test_progress_body() -> None:
    """The fallback body is ops_inventory_probe with the key and the reason for fallback."""
    event = _registry_event(verified=False, reason="status_mismatch", observed_status=200)
    body = progress_body(event, status="missing_widget_mapping", reason="no widget")
    assert body["event_type"] == "ops_inventory_probe"
    assert body["idempotency_key"] == event.idempotency_key
    assert body["detail"]["inter_hub_status"] == "missing_widget_mapping"
    assert "not verified (status_mismatch)" in body["summary"]


def test_bodies_are_redacted() -> None:
    """Secrets that slipped into attributes never reach either body."""
    register_secret("canary-registered-999")
    event = _registry_event(
        message="login failed for token=canary-inline-123 canary-registered-999"
    )
    for body in (interaction_event_body(event, "w"), progress_body(event, status="rejected")):
        text = canonical_json(body).decode()
        assert "canary-inline-123" not in text
        assert "canary-registered-999" not in text

"""Drift sees a change between two commit-hash versions, observed through the real probe path."""

from __future__ import annotations

import json

import pytest
from starlette.types import Receive, Scope, Send

from ops_evidence.events.types import InventoryDrift, ServiceObserved
from ops_evidence.events.wire import event_attributes
from ops_evidence.probes import ProbeContext
from tests.probes.inventories import inventory, probe
from tests.servers import serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

DECLARED = "f" * 40
OBSERVED = "5101eb5" + "0" * 33


async def _health(scope: Scope, receive: Receive, send: Send) -> None:
    """A service's health URL reporting the commit it was built from."""
    await receive()
    body = json.dumps({"status": "ok", "version": OBSERVED}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def test_drift_reports_a_changed_commit_version() -> None:
    """Declared `f…f` and observed `5101eb5…` (both 40 hex) are one `changed` record with
    both values, in the event and in what the sinks receive."""
    with serve_asgi(_health) as base_url:
        inv = inventory(
            services=[
                {
                    "id": "api",
                    "environment": "local",
                    "version": DECLARED,
                    "check": {
                        "kind": "http",
                        "url": f"{base_url}/health",
                        "version": {"json_field": "version"},
                    },
                }
            ]
        )
        ctx = ProbeContext(inv)
        observed = await probe(inv, "service:api", ctx=ctx)
    assert isinstance(observed, ServiceObserved)
    assert observed.attributes.observed_version == OBSERVED
    assert observed.attributes.declared_version == DECLARED
    drift = await probe(inv, "environment:local", ctx=ctx)
    assert isinstance(drift, InventoryDrift)
    assert drift.attributes.summary.changed == 1
    [record] = [r for r in drift.attributes.records if r.attribute == "version"]
    assert (record.kind, record.declared, record.observed) == ("changed", DECLARED, OBSERVED)
    [wire] = [r for r in event_attributes(drift)["records"] if r["attribute"] == "version"]
    assert (wire["declared"], wire["observed"]) == (DECLARED, OBSERVED)

"""`ops-inventory-drift`: computed from the latest observations, never from the network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ops_evidence.events.types import (
    AccessPathChecked,
    EndpointVerified,
    InventoryDrift,
    ServiceObserved,
)
from ops_evidence.probes import MemoryObservations, ProbeContext
from ops_evidence.probes.inventory_drift import compare
from tests import real_servers as servers
from tests.probes.inventories import inventory, probe

pytestmark = pytest.mark.anyio

INV = inventory(
    services=[
        {
            "id": "api",
            "environment": "local",
            "version": "1.0",
            "check": {"kind": "tcp", "host": "127.0.0.1", "port": 1},
        }
    ],
    endpoints=[
        {"id": "ep", "service": "api", "url": "http://127.0.0.1:1/", "expect": {"status": 401}}
    ],
    access_paths=[
        {
            "id": "dns",
            "environment": "local",
            "check": {"kind": "dns", "name": "a.test", "addresses": ["127.0.0.7"]},
        }
    ],
)


def service(status: str, version: str | None, **more: Any) -> ServiceObserved:
    """A service observation for `service:api`."""
    attributes = {
        "verified": status == "up",
        "environment": "local",
        "service": "api",
        "status": status,
        "check": "tcp",
        "target": "127.0.0.1:1",
        "declared_version": "1.0",
        "observed_version": version,
        **more,
    }
    return ServiceObserved.build(context_key="service:api", attributes=attributes)


def endpoint(status: int | None, reason: str | None) -> EndpointVerified:
    """An endpoint observation for `endpoint:ep`."""
    attributes = {
        "verified": reason is None,
        "reason": reason,
        "environment": "local",
        "endpoint": "ep",
        "url": "http://127.0.0.1:1/",
        "expected_status": [401],
        "observed_status": status,
    }
    return EndpointVerified.build(context_key="endpoint:ep", attributes=attributes)


def dns(resolved: list[str]) -> AccessPathChecked:
    """A dns observation for `access-path:dns`."""
    attributes = {
        "verified": resolved == ["127.0.0.7"],
        "environment": "local",
        "access_path": "dns",
        "method": "dns",
        "target": "a.test",
        "declared_addresses": ["127.0.0.7"],
        "resolved_addresses": resolved,
        "reason": None if resolved == ["127.0.0.7"] else "address_mismatch",
    }
    return AccessPathChecked.build(context_key="access-path:dns", attributes=attributes)


async def drift(*events: Any) -> InventoryDrift:
    """Record `events`, then run the drift probe of environment `local`."""
    observations = MemoryObservations()
    for event in events:
        observations.record(event)
    result = await probe(INV, "environment:local", ctx=ProbeContext(INV, observations))
    assert isinstance(result, InventoryDrift)
    return result


async def test_no_drift() -> None:
    """Every entity observed as declared: verified, no records."""
    result = await drift(service("up", "1.0"), endpoint(401, None), dns(["127.0.0.7"]))
    assert result.attributes.verified
    assert result.attributes.records == []


async def test_changed_records() -> None:
    """A new version, a different status and moved addresses are `changed` records."""
    result = await drift(
        service("up", "1.1"), endpoint(200, "unexpected_status"), dns(["10.0.0.1"])
    )
    records = {(r.entity, r.attribute): r for r in result.attributes.records}
    assert records["service:api", "version"].declared == "1.0"
    assert records["service:api", "version"].observed == "1.1"
    assert records["endpoint:ep", "status"].observed == "200"
    assert records["access-path:dns", "addresses"].observed == "10.0.0.1"
    assert result.attributes.summary.changed == 3
    assert not result.attributes.verified
    assert result.attributes.reason == "drift"


async def test_missing_records() -> None:
    """A down service, an unreachable endpoint and an unobserved path are `missing`."""
    result = await drift(
        service("down", None, reason="connection_refused"), endpoint(None, "timeout")
    )
    kinds = {(r.entity, r.attribute): r.kind for r in result.attributes.records}
    assert kinds == {
        ("service:api", "status"): "missing",
        ("endpoint:ep", "reachable"): "missing",
        ("access-path:dns", "observation"): "missing",
    }
    assert result.attributes.summary.missing == 3


async def test_unmanaged_records() -> None:
    """An observation of an entity the inventory does not declare is `unmanaged`."""
    stray = ServiceObserved.build(
        context_key="service:legacy",
        attributes={
            "verified": True,
            "environment": "local",
            "service": "legacy",
            "status": "up",
            "check": "tcp",
            "target": "127.0.0.1:2",
        },
    )
    result = await drift(service("up", "1.0"), endpoint(401, None), dns(["127.0.0.7"]), stray)
    assert [(r.kind, r.entity) for r in result.attributes.records] == [
        ("unmanaged", "service:legacy")
    ]
    assert result.attributes.summary.unmanaged == 1


async def test_other_environments_are_ignored() -> None:
    """Observations of another environment never show up in this one's drift."""
    other = ServiceObserved.build(
        context_key="service:far",
        attributes={
            "verified": True,
            "environment": "elsewhere",
            "service": "far",
            "status": "up",
            "check": "tcp",
            "target": "127.0.0.1:2",
        },
    )
    result = await drift(service("up", "1.0"), endpoint(401, None), dns(["127.0.0.7"]), other)
    assert result.attributes.records == []


def test_latest_observation_wins() -> None:
    """The store keeps the newest event per context key, whatever the recording order."""
    observations = MemoryObservations()
    newer, older = service("up", "2.0"), service("up", "1.0")
    older = older.model_copy(update={"observed_at": newer.observed_at.replace(year=2000)})
    observations.record(newer)
    observations.record(older)
    assert observations.latest("service:api") == newer


async def test_expiring_certificate_is_changed_with_its_decimal() -> None:
    """`tls_expiring` is a `changed` record: declared `>= min_days`, observed the days left
    with their decimal (2.9, not a rounded 3)."""
    expiring = endpoint(401, "tls_expiring").model_copy(deep=True)
    attributes = {
        **expiring.attributes.model_dump(),
        "tls_min_days": 3,
        "tls_days_remaining": 2.9,
    }
    event = EndpointVerified.build(context_key="endpoint:ep", attributes=attributes)
    result = await drift(service("up", "1.0"), event, dns(["127.0.0.7"]))
    [record] = result.attributes.records
    assert (record.kind, record.attribute) == ("changed", "tls_days_remaining")
    assert (record.declared, record.observed) == (">= 3", "2.9")


async def test_failing_addresses_are_named() -> None:
    """A per-address endpoint failing on one address: its record names that address."""
    verdicts = [
        {"address": "127.0.0.1", "verified": True, "status": 401},
        {"address": "127.0.0.2", "verified": False, "reason": "connection_refused"},
    ]
    attributes = endpoint(None, "connection_refused").attributes.model_dump()
    failing = EndpointVerified.build(
        context_key="endpoint:ep", attributes={**attributes, "addresses": verdicts}
    )
    result = await drift(service("up", "1.0"), failing, dns(["127.0.0.7"]))
    (record,) = result.attributes.records
    assert (record.kind, record.entity, record.attribute) == ("missing", "endpoint:ep", "reachable")
    assert record.detail == "failing: 127.0.0.2 connection_refused"


@pytest.mark.integration
async def test_address_set_drift_end_to_end(dns_port: int) -> None:
    """A dns path probed against dnsmasq (two A records, one of them undeclared, a declared
    one absent) is one `changed` record with both sets and what is missing and extra."""
    check = {
        "kind": "dns",
        "name": servers.MULTI_NAME,
        "addresses": ["127.0.0.3", "127.0.0.1"],
        "resolver": f"127.0.0.1:{dns_port}",
    }
    inv = inventory(access_paths=[{"id": "multi", "environment": "local", "check": check}])
    ctx = ProbeContext(inv)
    await probe(inv, "access-path:multi", ctx=ctx)
    result = await probe(inv, "environment:local", ctx=ctx)
    assert isinstance(result, InventoryDrift)
    (record,) = [r for r in result.attributes.records if r.entity == "access-path:multi"]
    assert (record.kind, record.attribute) == ("changed", "addresses")
    assert (record.declared, record.observed) == ("127.0.0.3,127.0.0.1", "127.0.0.1,127.0.0.2")
    assert record.detail == "missing 127.0.0.3; extra 127.0.0.2"


PINNED = "SHA256:ZRnOmbiqXqmXnFq7HexEBdigUY94dmteFSsF9D3gwgM"
HELD = "SHA256:a9TbTxBSWv0bnKanOp2hqOlwpv1GxzMGwM1cU/2rTX8"


def test_host_key_mismatch_is_changed() -> None:
    """A pinned ssh host key the server no longer holds is `changed` `host_key`, with the
    declared and observed fingerprints."""
    event = AccessPathChecked.build(
        context_key="access-path:ssh",
        attributes={
            "verified": False,
            "reason": "host_key_mismatch",
            "environment": "local",
            "access_path": "ssh",
            "method": "ssh",
            "target": "127.0.0.1:22",
            "ssh_host_keys": [{"type": "ssh-ed25519", "fingerprint": HELD}],
            "ssh_expected_fingerprints": [PINNED],
            "ssh_host_key_matched": False,
        },
    )
    [record] = compare(event)
    assert (record.kind, record.attribute) == ("changed", "host_key")
    assert (record.declared, record.observed) == (PINNED, HELD)


@pytest.mark.integration
async def test_host_key_drift_end_to_end(sshd: servers.Sshd, tmp_path: Path) -> None:
    """Probing a real sshd with a pin it does not hold, then drift: one `changed` record."""
    check = {"kind": "ssh", "host": "127.0.0.1", "port": sshd.port}
    check["host_key"] = sshd.fingerprint(sshd.other_key(tmp_path))
    inv = inventory(access_paths=[{"id": "ssh", "environment": "local", "check": check}])
    observations = MemoryObservations()
    observations.record(await probe(inv, "access-path:ssh"))
    result = await probe(inv, "environment:local", ctx=ProbeContext(inv, observations))
    assert isinstance(result, InventoryDrift)
    assert [(r.kind, r.entity, r.attribute) for r in result.attributes.records] == [
        ("changed", "access-path:ssh", "host_key")
    ]

"""Drift sees identity: a host key, certificate or address set that differs from the previous
run is `changed` (declared: before, observed: after), for a bounded time, and a certificate
renewed within its renewal window is not drift."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import (
    AccessPathChecked,
    DriftRecord,
    EndpointVerified,
    InventoryDrift,
)
from ops_evidence.events.wire import event_attributes
from ops_evidence.inventory.models import Inventory
from ops_evidence.probes import MemoryObservations, ProbeContext
from ops_evidence.schedule.timetable import fingerprint as emission_digest
from tests import real_servers as servers
from tests.probes.inventories import inventory, probe
from tests.probes.test_identity import FP_A, FP_B, LATER, T0, certificate, per_address
from tests.support import require_tool

pytestmark = pytest.mark.anyio

ENDPOINT = {"id": "ep", "service": "web", "url": "https://127.0.0.1/"}


def leaf_endpoint(when: datetime, fingerprint: str, not_after: datetime) -> EndpointVerified:
    """A verified endpoint observation of `endpoint:ep` whose leaf is `fingerprint`."""
    attributes = {
        "verified": True,
        "environment": "local",
        "endpoint": "ep",
        "url": "https://127.0.0.1/",
        "tls_chain": [certificate(fingerprint, not_after)],
    }
    return EndpointVerified.build(
        context_key="endpoint:ep", attributes=attributes, observed_at=when
    )


def inventory_with(defaults: dict[str, Any]) -> Inventory:
    """Environment `local` with endpoint `ep` and these `defaults`."""
    return Inventory.model_validate(
        {
            "version": 1,
            "defaults": defaults,
            "environments": [{"id": "local", "role": "test"}],
            "services": [{"id": "web", "environment": "local"}],
            "endpoints": [ENDPOINT],
        }
    )


async def drift_event(inv: Inventory, events: list[EvidenceEvent], now: datetime) -> InventoryDrift:
    """Drift for `local` at `now`, after recording `events`."""
    observations = MemoryObservations()
    for event in events:
        observations.record(event)
    result = await probe(
        inv, "environment:local", ctx=ProbeContext(inv, observations, now=lambda: now)
    )
    assert isinstance(result, InventoryDrift)
    return result


async def identity_drift(
    inv: Inventory, events: list[EvidenceEvent], now: datetime
) -> list[DriftRecord]:
    """The identity records of drift for `local` at `now`, after recording `events`."""
    result = await drift_event(inv, events, now)
    return [r for r in result.attributes.records if r.detail and "between runs" in r.detail]


def replaced(days_left: float) -> list[EvidenceEvent]:
    """`ep` answered by FP_A (`days_left` from LATER), then by FP_B."""
    not_after = LATER + timedelta(days=days_left)
    return [
        leaf_endpoint(T0, FP_A, not_after),
        leaf_endpoint(LATER, FP_B, LATER + timedelta(days=90)),
    ]


async def test_certificate_replaced_early_is_changed() -> None:
    """A leaf replaced while it had 60 days left: `changed` `tls_fingerprint`, declared the
    old fingerprint, observed the new one, the detail saying when."""
    [record] = await identity_drift(inventory_with({}), replaced(60), LATER)
    assert (record.kind, record.entity, record.attribute) == (
        "changed",
        "endpoint:ep",
        "tls_fingerprint",
    )
    assert (record.declared, record.observed) == (FP_A, FP_B)
    assert record.detail == f"not declared; changed between runs at {LATER:%Y-%m-%dT%H:%M:%SZ}"


async def test_renewal_within_the_window_is_not_drift() -> None:
    """A leaf replaced with 29 days left (ACME renews at 30): routine, no record."""
    assert await identity_drift(inventory_with({}), replaced(29), LATER) == []


async def test_the_renewal_window_is_the_inventory_default() -> None:
    """`defaults.tls_renewal_days` moves the line: 60 days left is a renewal at 61, drift at 59."""
    assert await identity_drift(inventory_with({"tls_renewal_days": 61}), replaced(60), LATER) == []
    assert await identity_drift(inventory_with({"tls_renewal_days": 59}), replaced(60), LATER)


async def test_reported_for_a_day_then_over() -> None:
    """Still reported 23 hours after the change, gone after 25 (the default 5-minute drift
    interval sees it hundreds of times in between)."""
    events = replaced(60)
    assert await identity_drift(inventory_with({}), events, LATER + timedelta(hours=23))
    assert await identity_drift(inventory_with({}), events, LATER + timedelta(hours=25)) == []


async def test_a_change_is_delivered_when_it_appears_and_ends() -> None:
    """The drift event's emission digest changes when the record appears and changes back
    when it is over, so both are delivered at once, not at the next heartbeat."""

    async def digest(events: list[EvidenceEvent], now: datetime) -> str:
        result = await drift_event(inventory_with({}), events, now)
        return emission_digest(result.event_type, event_attributes(result))

    before = await digest(replaced(60)[:1], LATER)
    reported = await digest(replaced(60), LATER)
    over = await digest(replaced(60), LATER + timedelta(hours=25))
    assert reported != before
    assert over == before


async def test_reported_for_two_drift_intervals_when_longer() -> None:
    """With drift every 2 days a change stays for 4, so a drift event carries it."""
    inv = inventory_with({"interval": "2d"})
    assert await identity_drift(inv, replaced(60), LATER + timedelta(days=3))
    assert await identity_drift(inv, replaced(60), LATER + timedelta(days=5)) == []


async def test_changed_address_set_of_a_per_address_endpoint() -> None:
    """A `per_address` endpoint whose name now resolves to other addresses: `changed`
    `addresses`, the sorted sets before and after."""
    events: list[EvidenceEvent] = [
        per_address(T0, "127.0.0.1", "127.0.0.2"),
        per_address(LATER, "127.0.0.1", "127.0.0.3"),
    ]
    [record] = await identity_drift(inventory_with({}), events, LATER)
    assert (record.attribute, record.declared, record.observed) == (
        "addresses",
        "127.0.0.1,127.0.0.2",
        "127.0.0.1,127.0.0.3",
    )


def tls_path(port: int, ca_file: Path) -> Inventory:
    """Access path `site` checking TLS on `port` (one id, whichever server answers)."""
    check = {"kind": "tls", "host": "127.0.0.1", "port": port, "ca_file": str(ca_file)}
    return inventory(access_paths=[{"id": "site", "environment": "local", "check": check}])


async def observe_then_drift(
    inventories: list[Inventory],
) -> tuple[list[AccessPathChecked], list[DriftRecord]]:
    """Probe `access-path:site` as each inventory has it, in turn, then drift (one context,
    so one memory, as in the service): the observations and drift's records."""
    observations, seen = MemoryObservations(), []
    for inv in inventories:
        event = await probe(inv, "access-path:site", ctx=ProbeContext(inv, observations))
        assert isinstance(event, AccessPathChecked)
        seen.append(event)
    last = ProbeContext(inventories[-1], observations)
    result = await probe(inventories[-1], "environment:local", ctx=last)
    assert isinstance(result, InventoryDrift)
    return seen, list(result.attributes.records)


@pytest.mark.integration
async def test_certificate_change_end_to_end(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """Real nginx: the path answered with the 1-year certificate, then another one: drift
    reports `changed` `tls_fingerprint` with both real fingerprints."""
    (old, new), records = await observe_then_drift(
        [tls_path(nginx.valid, certs.ca_file), tls_path(nginx.expiring, certs.ca_file)]
    )
    [record] = [r for r in records if r.attribute == "tls_fingerprint"]
    assert record.kind == "changed"
    assert record.declared == old.attributes.tls_chain[0].fingerprint_sha256
    assert record.observed == new.attributes.tls_chain[0].fingerprint_sha256
    assert record.declared != record.observed


@pytest.mark.integration
async def test_renewal_end_to_end(nginx: servers.Nginx, certs: servers.Certs) -> None:
    """Real nginx: the 3-day certificate replaced by the 1-year one is a renewal: no
    identity record (the 3-day one's own `tls_expiring` is a separate matter)."""
    _, records = await observe_then_drift(
        [tls_path(nginx.expiring, certs.ca_file), tls_path(nginx.valid, certs.ca_file)]
    )
    assert [r for r in records if r.attribute == "tls_fingerprint"] == []


@pytest.fixture
def other_sshd(tmp_path: Path) -> Iterator[servers.Sshd]:
    """A second sshd with host keys of its own."""
    binary = require_tool("sshd", "openssh-server")
    keygen = require_tool("ssh-keygen", "openssh-client")
    with servers.sshd(tmp_path, binary, keygen) as server:
        yield server


@pytest.mark.integration
async def test_host_key_change_end_to_end(sshd: servers.Sshd, other_sshd: servers.Sshd) -> None:
    """Real sshd: an unpinned path answered by other host keys than last run is `changed`
    `host_key`."""

    def path(port: int) -> Inventory:
        check = {"kind": "ssh", "host": "127.0.0.1", "port": port}
        return inventory(access_paths=[{"id": "site", "environment": "local", "check": check}])

    _, records = await observe_then_drift([path(sshd.port), path(other_sshd.port)])
    [record] = [r for r in records if r.attribute == "host_key"]
    fingerprints = [sshd.fingerprint(k) for k in sshd.public_keys]
    assert record.declared == ",".join(sorted(fingerprints))


@pytest.mark.integration
async def test_address_set_change_end_to_end(
    dns_port: int, multi_nginx: servers.MultiAddress
) -> None:
    """Real dnsmasq and nginx: the `per_address` endpoint resolved to 127.0.0.1 and
    127.0.0.2, then (its URL moved to a name with an A and an AAAA record) to 127.0.0.1 and
    ::1: drift reports `changed` `addresses` with both sets."""

    def multi(name: str) -> Inventory:
        url = f"http://{name}:{multi_nginx.both}/health"
        resolver = f"127.0.0.1:{dns_port}"
        spec = {"id": "m", "service": "web", "url": url, "per_address": True, "resolver": resolver}
        return inventory(endpoints=[spec])

    observations = MemoryObservations()
    for inv in (multi(servers.MULTI_NAME), multi(servers.DUAL_NAME)):
        event = await probe(inv, "endpoint:m", ctx=ProbeContext(inv, observations))
        assert event.attributes.verified, event.attributes.message
    result = await probe(inv, "environment:local", ctx=ProbeContext(inv, observations))
    assert isinstance(result, InventoryDrift)
    [record] = [r for r in result.attributes.records if r.attribute == "addresses"]
    assert (record.kind, record.declared, record.observed) == (
        "changed",
        "127.0.0.1,127.0.0.2",
        "127.0.0.1,::1",
    )

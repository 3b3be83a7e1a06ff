"""Gate findings and events name the evidence they used; stale evidence says since when."""

from __future__ import annotations

import json
from datetime import timedelta

import jsonschema
import pytest

from ops_evidence.events.gate_catalog import load_catalog
from ops_evidence.events.schemas import event_schema
from ops_evidence.events.types import MAX_GATE_EVIDENCE, ReadinessGateUpdated
from ops_evidence.events.wire import event_attributes
from ops_evidence.probes import ProbeContext, find_target, run_probe
from ops_evidence.probes.readiness.evaluation import evaluate_gate
from ops_evidence.probes.readiness.rollout_outcomes import RolloutCommand, RolloutOutcome
from ops_evidence.probes.readiness.rules import EvidenceRef
from ops_evidence.schedule.timetable import Emitted, fingerprint, should_emit
from tests.probes.readiness.evidence import (
    FRESH,
    NOW,
    STALE,
    backup,
    backup_seen,
    catalogued_service,
    endpoint,
    endpoint_seen,
    evidence,
    inventory,
    outcome,
    service_seen,
)

pytestmark = pytest.mark.anyio

WEB = inventory(services=[catalogued_service("web")], endpoints=[endpoint("web-root", "web")])


async def gate_event(ctx: ProbeContext, gate_id: str) -> ReadinessGateUpdated:
    """Run the readiness probe of `gate_id` in `ctx`."""
    target = find_target(ctx.inventory, f"gate:{gate_id}")
    assert target is not None
    event = await run_probe(ctx, target)
    assert isinstance(event, ReadinessGateUpdated)
    return event


def test_g06_names_the_backup_observations_it_used() -> None:
    """Two stores, each with a verified backup: the result names both observations by context
    key, run id and time."""
    inv = inventory(backups=[backup("db-dump", "db"), backup("blobs", "files")])
    seen = [backup_seen("db-dump", verified=True), backup_seen("blobs", verified=False)]
    result = evaluate_gate(load_catalog().gate("OPS-G06"), evidence(inv, *seen))
    assert result.status == "blocked"
    assert result.evidence == tuple(EvidenceRef(e.context_key, e.run_id, FRESH) for e in seen)


def test_g02_names_service_and_endpoint_observations() -> None:
    """A service seen itself and through its endpoint: both observations are named."""
    seen = [service_seen("web"), endpoint_seen("web-root", verified=True)]
    result = evaluate_gate(load_catalog().gate("OPS-G02"), evidence(WEB, *seen))
    assert result.status == "ready"
    assert [ref.context_key for ref in result.evidence] == ["service:web", "endpoint:web-root"]
    assert [ref.run_id for ref in result.evidence] == [e.run_id for e in seen]


def test_g15_names_its_recorded_outcomes_and_manual_evidence_names_itself() -> None:
    """The rollout rule names the recorded outcomes (no run id, their time); manual evidence
    that counts is named `inventory:gates.<id>`."""
    manual = {"link": "https://git.test/x", "date": "2026-06-01", "by": "ops", "status": "ready"}
    inv = inventory(gates={"OPS-G15": manual})
    rollout: dict[RolloutCommand, RolloutOutcome] = {
        "gate-probe": outcome("gate-probe", ok=True),
        "smoke": outcome("smoke", ok=False),
    }
    result = evaluate_gate(load_catalog().gate("OPS-G15"), evidence(inv, rollout=rollout))
    at = NOW - timedelta(hours=1)
    assert result.evidence == (
        EvidenceRef("rollout:gate-probe", None, at),
        EvidenceRef("rollout:smoke", None, at),
        EvidenceRef("inventory:gates.OPS-G15"),
    )


def test_stale_backup_evidence_says_since_when() -> None:
    """A backup last observed 16 minutes ago (5m interval, three intervals): unknown, "stale
    since" the moment it stopped counting; it is not evidence used."""
    inv = inventory(backups=[backup("db-dump", "db")])
    result = evaluate_gate(
        load_catalog().gate("OPS-G06"), evidence(inv, backup_seen("db-dump", True, at=STALE))
    )
    assert result.status == "unknown"
    assert "store db: backup:db-dump: stale since 2026-06-15 11:59 UTC" in result.reasons
    assert result.evidence == ()
    never = evaluate_gate(load_catalog().gate("OPS-G06"), evidence(inv))
    assert "store db: no recent backup evidence" in never.reasons


async def test_the_gate_event_lists_the_evidence_used() -> None:
    """The event's `evidence` carries each observation's context key and run id, and the
    body is valid against the committed schema."""
    ctx = ProbeContext(WEB, now=lambda: NOW)
    seen = service_seen("web")
    ctx.observations.record(seen)
    event = await gate_event(ctx, "OPS-G02")
    used = event.attributes.evidence
    assert [(u.context_key, u.run_id) for u in used] == [("service:web", seen.run_id)]
    assert used[0].observed_at == FRESH
    assert event.attributes.evidence_truncated is False
    jsonschema.validate(json.loads(event.model_dump_json()), event_schema(event.event_type))


async def test_the_evidence_list_is_bounded() -> None:
    """G02 over 60 observed services names the first MAX_GATE_EVIDENCE and says it left some out."""
    services = [catalogued_service(f"svc{i}") for i in range(60)]
    endpoints = [endpoint(f"ep{i}", f"svc{i}") for i in range(60)]
    ctx = ProbeContext(inventory(services=services, endpoints=endpoints), now=lambda: NOW)
    for i in range(60):
        ctx.observations.record(service_seen(f"svc{i}"))
    event = await gate_event(ctx, "OPS-G02")
    assert event.attributes.status == "ready"
    assert len(event.attributes.evidence) == MAX_GATE_EVIDENCE
    assert event.attributes.evidence_truncated is True


async def test_new_run_ids_alone_do_not_re_emit_a_gate() -> None:
    """The service observed again (a new run, same verdict): the gate event names the new run,
    but its emission fingerprint is unchanged, so it is not emitted before the heartbeat; a
    change in the evidence used, or in the status, is emitted."""
    ctx = ProbeContext(WEB, now=lambda: NOW)
    ctx.observations.record(service_seen("web"))
    first = await gate_event(ctx, "OPS-G02")
    ctx.observations.record(service_seen("web"))
    again = await gate_event(ctx, "OPS-G02")
    assert first.attributes.evidence[0].run_id != again.attributes.evidence[0].run_id
    ctx.observations.record(endpoint_seen("web-root", verified=True))
    more = await gate_event(ctx, "OPS-G02")
    ctx.now = lambda: NOW + timedelta(minutes=20)  # both observations now stale
    stale = await gate_event(ctx, "OPS-G02")
    prints = [fingerprint(e.event_type, event_attributes(e)) for e in (first, again, more, stale)]
    last = Emitted(prints[0], at=0.0)
    assert not should_emit(last, prints[1], now=60.0, heartbeat=3600.0)
    assert should_emit(last, prints[1], now=3600.0, heartbeat=3600.0)
    assert len(set(prints[1:])) == 3  # evidence used changed, then the status
    assert (more.attributes.status, stale.attributes.status) == ("ready", "unknown")


async def test_an_exempt_gate_event_says_who_exempted_it_until_when() -> None:
    """The event of an exempt gate: status `exempt`, not verified but no probe failure, the
    exemption's owner and expiry, the attestation's expiry; valid against the schema."""
    manual = {
        "link": "https://git.test/x",
        "date": "2026-06-01",
        "by": "ops",
        "expires": "2027-01-01",
    }
    exemption = {"owner": "platform-team", "reason": "later", "expires": "2026-07-01"}
    inv = inventory(gates={"OPS-G09": manual}, exemptions={"OPS-G09": exemption})
    event = await gate_event(ProbeContext(inv, now=lambda: NOW), "OPS-G09")
    attrs = event.attributes
    assert (attrs.status, attrs.decided_by, attrs.exempt) == ("exempt", "exemption", True)
    assert (attrs.verified, attrs.reason, attrs.failed) == (False, "exempt", False)
    assert (attrs.exemption_owner, str(attrs.exemption_expires)) == ("platform-team", "2026-07-01")
    assert str(attrs.evidence_expires) == "2027-01-01"
    assert [u.context_key for u in attrs.evidence] == [
        "inventory:gates.OPS-G09",
        "inventory:exemptions.OPS-G09",
    ]
    jsonschema.validate(json.loads(event.model_dump_json()), event_schema(event.event_type))


async def test_a_token_in_an_exemption_reason_never_reaches_the_event() -> None:
    """Exemption text is free text: a canary token pasted into its reason is masked."""
    token = "ghp_" + "Z9y8X7w6" * 5
    exemption = {"owner": "ops", "reason": f"see ?access_token={token}", "expires": "2026-07-01"}
    event = await gate_event(
        ProbeContext(inventory(exemptions={"OPS-G09": exemption}), now=lambda: NOW), "OPS-G09"
    )
    assert event.attributes.status == "exempt"
    assert token not in event.model_dump_json()

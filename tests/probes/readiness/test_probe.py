"""`ops-readiness-gate-updated`: one event per gate, computed after the observations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from ops_evidence.checks.base import Failure
from ops_evidence.events.gate_catalog import load_catalog
from ops_evidence.events.schemas import event_schema
from ops_evidence.events.types import MAX_GATE_REASON_LENGTH, ReadinessGateUpdated
from ops_evidence.events.wire import event_attributes
from ops_evidence.inventory.models import Inventory
from ops_evidence.probes import MemoryObservations, ProbeContext, find_target, run_probe
from ops_evidence.probes.readiness.evaluation import evaluate_gate
from ops_evidence.probes.readiness.probe import gate_evidence
from ops_evidence.probes.readiness.rollout_outcomes import RolloutOutcome, record_outcome
from ops_evidence.probes.readiness.rules import GateEvidence, planned_intervals
from ops_evidence.probes.registry import probes
from ops_evidence.schedule.emission_state import MemoryProbeState
from ops_evidence.schedule.probe_jobs import build_jobs
from ops_evidence.schedule.runner import Job, Scheduler
from ops_evidence.schedule.timetable import fingerprint
from tests.probes.readiness.evidence import (
    NOW,
    catalogued_service,
    endpoint,
    endpoint_seen,
    inventory,
)

pytestmark = pytest.mark.anyio

REGISTRY = inventory(
    services=[catalogued_service("gitea")], endpoints=[endpoint("registry", "gitea", registry=True)]
)


async def gate_event(ctx: ProbeContext, gate_id: str) -> ReadinessGateUpdated:
    """Run the readiness probe of `gate_id` in `ctx`."""
    target = find_target(ctx.inventory, f"gate:{gate_id}")
    assert target is not None
    event = await run_probe(ctx, target)
    assert isinstance(event, ReadinessGateUpdated)
    return event


async def test_gate_event_carries_status_reasons_and_waves() -> None:
    """A verified registry route without a publish makes G05 partial (push/pull unproven):
    not verified, reason `partial`, the reasons, the waves, and a body valid against the
    committed schema."""
    ctx = ProbeContext(REGISTRY, now=lambda: NOW)
    ctx.observations.record(endpoint_seen("registry", verified=True))
    event = await gate_event(ctx, "OPS-G05")
    attrs = event.attributes
    assert event.context_key == "gate:OPS-G05"
    assert (attrs.status, attrs.seed_status, attrs.decided_by) == ("partial", "partial", "evidence")
    assert (attrs.verified, attrs.reason) == (False, "partial")
    assert (attrs.failed, attrs.verdict) == (False, "status")
    assert attrs.waves == ["wave-1-registry-proof"]
    assert attrs.message == "1 of 2 registry checks meet the requirement"
    assert attrs.reasons[1] == "no endpoint declares a publishing check (`publish:`)"
    jsonschema.validate(json.loads(event.model_dump_json()), event_schema(event.event_type))


async def test_a_ready_gate_is_verified() -> None:
    """G01 with the four seed environments fully declared: ready, verified, no reason."""
    event = await gate_event(ProbeContext(inventory()), "OPS-G01")
    assert (event.attributes.status, event.attributes.verified) == ("ready", True)
    assert event.attributes.reason is None


async def test_a_gate_whose_evaluation_failed_is_a_failure() -> None:
    """The failure path (evaluation crashed or timed out): `unknown`, and a probe failure,
    unlike a gate that is merely not ready."""
    ctx = ProbeContext(REGISTRY, now=lambda: NOW)
    target = find_target(ctx.inventory, "gate:OPS-G05")
    assert target is not None
    event = probes()["ops-readiness-gate-updated"].on_failure(
        ctx, target, Failure.of("timeout", "no result within 5s")
    )
    assert isinstance(event, ReadinessGateUpdated)
    attrs = event.attributes
    assert (attrs.status, attrs.reason, attrs.failed, attrs.verdict) == (
        "unknown",
        "timeout",
        True,
        "failed",
    )


async def test_g15_reads_recorded_rollout_outcomes_from_the_state_dir(tmp_path: Path) -> None:
    """Outcomes recorded by gate-probe/smoke --record in the state dir make G15 ready."""
    for command in ("gate-probe", "smoke"):
        record_outcome(
            tmp_path, RolloutOutcome(command=command, ok=True, at=datetime.now(UTC), detail="ok")
        )
    without = await gate_event(ProbeContext(inventory()), "OPS-G15")
    with_outcomes = await gate_event(ProbeContext(inventory(), state_dir=tmp_path), "OPS-G15")
    assert without.attributes.status == "unknown"
    assert with_outcomes.attributes.status == "ready"


def test_only_the_rollout_rule_reads_the_recorded_outcomes(tmp_path: Path) -> None:
    """Evaluating the other fourteen gates reads no outcome file; G15 reads them once."""
    record_outcome(tmp_path, RolloutOutcome(command="smoke", ok=True, at=NOW, detail="ok"))
    inv = inventory()
    gathered = GateEvidence(inv, MemoryObservations(), NOW, planned_intervals(inv), tmp_path)
    for gate in load_catalog().gates:
        if gate.id != "OPS-G15":
            evaluate_gate(gate, gathered)
    assert "rollout" not in vars(gathered)
    evaluate_gate(load_catalog().gate("OPS-G15"), gathered)
    assert set(vars(gathered)["rollout"]) == {"smoke"}


def test_gate_probes_of_one_context_plan_the_inventory_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fifteen readiness probes share one context's planned intervals: planning (a walk of the
    whole inventory) runs on the first evaluation only."""
    calls: list[Inventory] = []

    def counting(inv: Inventory) -> dict[str, timedelta]:
        calls.append(inv)
        return planned_intervals(inv)

    monkeypatch.setattr("ops_evidence.probes.readiness.probe.planned_intervals", counting)
    ctx = ProbeContext(inventory())
    first, second = gate_evidence(ctx), gate_evidence(ctx)
    assert len(calls) == 1
    assert first.intervals is second.intervals
    assert dict(first.intervals) == planned_intervals(ctx.inventory)
    assert "gate:OPS-G01" in first.intervals


async def test_a_reason_at_the_limit_quoting_a_credential_still_makes_an_event() -> None:
    """Masking lengthens `password=hunter2`; reasons are masked before they are cut, so a
    reason at the length limit still fits the event instead of failing the evaluation."""
    notes = "password=hunter2 " + "x" * (MAX_GATE_REASON_LENGTH - 17)
    assert len(notes) == MAX_GATE_REASON_LENGTH
    inv = inventory(
        gates={
            "OPS-G08": {
                "link": "https://git.test/log",
                "date": "2026-06-20",
                "by": "ops",
                "status": "partial",
                "notes": notes,
            }
        }
    )
    event = await gate_event(ProbeContext(inv), "OPS-G08")
    assert event.attributes.status == "partial"
    assert len(event.attributes.reasons[-1]) == MAX_GATE_REASON_LENGTH
    assert "hunter2" not in event.model_dump_json()


async def test_manual_evidence_link_is_redacted() -> None:
    """A token in a manual evidence link never reaches the event."""
    token = "ghp_" + "a1B2c3D4" * 5
    inv = inventory(
        gates={
            "OPS-G08": {
                "link": f"https://git.test/log?access_token={token}",
                "date": "2026-06-20",
                "by": "ops",
                "status": "ready",
            }
        }
    )
    event = await gate_event(ProbeContext(inv), "OPS-G08")
    assert event.attributes.status == "ready"
    assert token not in event.model_dump_json()


async def test_an_unchanged_gate_has_the_same_fingerprint() -> None:
    """Re-evaluating an unchanged gate is not a change (quiet emission); a new status is."""
    ctx = ProbeContext(REGISTRY, now=lambda: NOW)
    first = await gate_event(ctx, "OPS-G05")
    second = await gate_event(ctx, "OPS-G05")
    ctx.observations.record(endpoint_seen("registry", verified=False))
    changed = await gate_event(ctx, "OPS-G05")
    fingerprints = [
        fingerprint(e.event_type, event_attributes(e)) for e in (first, second, changed)
    ]
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]
    # Partial before any observation: no `publish:` declared is a gap the inventory shows.
    assert (first.attributes.status, changed.attributes.status) == ("partial", "blocked")


def test_gate_and_drift_jobs_run_after_the_observations() -> None:
    """build_jobs flags the derived probes (drift, gates) to wait for the observations."""
    jobs = build_jobs(REGISTRY)
    late = {j.event_type for j in jobs if j.after_observations}
    early = {j.event_type for j in jobs if not j.after_observations}
    assert late == {"ops-inventory-drift", "ops-readiness-gate-updated"}
    assert early == {"ops-service-observed", "ops-endpoint-verified"}


async def test_one_pass_evaluates_gates_from_that_pass_observations() -> None:
    """In run_once the gate jobs see the observations made earlier in the same pass."""
    inv = inventory(
        services=[catalogued_service("web")],
        endpoints=[{**endpoint("root", "web"), "url": "http://127.0.0.1:1/"}],
    )
    emitted: list[str] = []

    async def submit(event: object, job: Job) -> bool:
        emitted.append(job.key)
        return True

    scheduler = Scheduler(build_jobs(inv), submit, MemoryProbeState())
    await scheduler.load_state()
    await scheduler.run_once()
    g02 = scheduler.results["gate:OPS-G02"].event
    assert g02 is not None
    assert g02.attributes.model_dump()["status"] == "ready"  # a refused service is evidence too
    assert emitted.index("gate:OPS-G02") > emitted.index("service:web")

"""`ops-readiness-gate-updated`: a readiness gate's status, evaluated from the evidence.

One target per catalog gate (`gate:OPS-G05`). No network calls: the gate rules read the
inventory, the latest observations of the other probes (so this probe is registered to run
after them) and the outcomes `gate-probe --record` / `smoke --record` left in the state
directory. The scheduler emits the event when the status or its reasons change, and at the
heartbeat otherwise.
"""

from __future__ import annotations

from typing import Any

from ops_evidence.checks.base import Failure
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.gate_catalog import load_catalog
from ops_evidence.events.types import MAX_GATE_EVIDENCE, ReadinessGateUpdated
from ops_evidence.probes.base import ProbeContext, ProbeTarget, make_event, verdict
from ops_evidence.probes.readiness.evaluation import GateResult, evaluate_gate
from ops_evidence.probes.readiness.rules import GateEvidence, planned_intervals


def gate_attributes(result: GateResult) -> dict[str, Any]:
    """The event attributes of one gate result; verified only when the gate is ready."""
    ready = result.status == "ready"
    manual = result.manual
    return {
        "gate": result.gate.id,
        "name": result.gate.name,
        "status": result.status,
        "seed_status": result.gate.seed_status,
        "decided_by": result.decided_by,
        "reasons": result.reasons,
        "waves": result.waves,
        "evidence_link": manual.link if manual else None,
        "evidence_date": manual.date if manual else None,
        "evidence_by": manual.by if manual else None,
        "evidence_expires": manual.expires_on if manual else None,
        **_exemption(result),
        **_evidence(result),
        "verified": ready,
        "reason": None if ready else result.status,
        "message": result.reasons[0] if result.reasons else None,
    }


def _exemption(result: GateResult) -> dict[str, Any]:
    exemption = result.exemption if result.exempt else None
    return {
        "exempt": result.exempt,
        "exemption_owner": exemption.owner if exemption else None,
        "exemption_expires": exemption.expires if exemption else None,
    }


def _evidence(result: GateResult) -> dict[str, Any]:
    # Bounded: a gate over a thousand endpoints names the first MAX_GATE_EVIDENCE and says so.
    used = result.evidence[:MAX_GATE_EVIDENCE]
    return {
        "evidence": [
            {"context_key": r.context_key, "run_id": r.run_id, "observed_at": r.observed_at}
            for r in used
        ],
        "evidence_truncated": len(result.evidence) > MAX_GATE_EVIDENCE,
    }


def gate_evidence(ctx: ProbeContext) -> GateEvidence:
    """What the gate rules read, from the probe context."""
    if not ctx.intervals:
        ctx.intervals.update(planned_intervals(ctx.inventory))
    return GateEvidence(ctx.inventory, ctx.observations, ctx.now(), ctx.intervals, ctx.state_dir)


def failure_event(ctx: ProbeContext, target: ProbeTarget, failure: Failure) -> EvidenceEvent:
    gate = load_catalog().gate(target.entity_id)
    attributes = {
        "gate": gate.id,
        "name": gate.name,
        "status": "unknown",
        "seed_status": gate.seed_status,
        "decided_by": "none",
        "reasons": [failure.message],
        **verdict(failure),
    }
    return make_event(ReadinessGateUpdated, ctx, target, attributes)


async def probe_gate(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Evaluate one gate from the latest evidence."""
    result = evaluate_gate(load_catalog().gate(target.entity_id), gate_evidence(ctx))
    return make_event(ReadinessGateUpdated, ctx, target, gate_attributes(result))

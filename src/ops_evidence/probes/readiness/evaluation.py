"""Each gate's status and reasons from its rule and the inventory's manual evidence; waves.

    gate without a rule     manual evidence decides (its claimed status, `partial` when it
                            claims none); without manual evidence the gate is `unknown` —
                            never `ready`
    gate with a rule        the rule decides; while the rule has no evidence (`unknown`),
                            manual evidence stands in for it
    rule + `manual_part`    the rule alone reaches at most `partial`: `ready` also needs
                            manual evidence claiming `ready` (what probes cannot see)

A wave is `ready` when all its gates are, `blocked` when one is, `unknown` when none has
evidence, else `partial`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ops_evidence.events.gate_catalog import Catalog, Gate, GateStatus, Wave, load_catalog
from ops_evidence.events.types import MAX_GATE_REASONS
from ops_evidence.inventory.models import ManualGateEvidence
from ops_evidence.probes.readiness.rules import RULES, GateEvidence, aggregate

DecidedBy = Literal["evidence", "manual", "none"]


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's living status: what decided it, why, and the waves that need it."""

    gate: Gate
    status: GateStatus
    decided_by: DecidedBy
    reasons: list[str]
    waves: list[str]
    manual: ManualGateEvidence | None

    def as_json(self) -> dict[str, Any]:
        """The result as plain JSON."""
        return {
            "gate": self.gate.id,
            "name": self.gate.name,
            "status": self.status,
            "seed_status": self.gate.seed_status,
            "decided_by": self.decided_by,
            "reasons": self.reasons,
            "waves": self.waves,
            "owners": list(self.gate.owners),
            "manual_evidence": self.manual.model_dump(mode="json") if self.manual else None,
        }


@dataclass(frozen=True, slots=True)
class WaveResult:
    """A wave's status and the status of each of its gates."""

    wave: Wave
    status: GateStatus
    gates: dict[str, GateStatus]

    @property
    def ready(self) -> bool:
        """True when every gate of the wave is ready."""
        return self.status == "ready"

    def as_json(self) -> dict[str, Any]:
        """The wave as plain JSON."""
        return {
            "wave": self.wave.id,
            "goal": self.wave.goal,
            "ready": self.ready,
            "status": self.status,
            "gates": self.gates,
            "notes": self.wave.notes,
        }


def _manual(gate: Gate, manual: ManualGateEvidence | None) -> tuple[GateStatus, list[str]]:
    if manual is None:
        return "unknown", [f"no manual evidence (add gates.{gate.id} to the inventory)"]
    reasons = [f"manual evidence: {manual.link} ({manual.date}, {manual.by})"]
    return manual.status or "partial", reasons + ([manual.notes] if manual.notes else [])


def _capped(reasons: list[str]) -> list[str]:
    # The event carries at most MAX_GATE_REASONS (the model cuts each one to length); the
    # last slot says how many were left out.
    if len(reasons) <= MAX_GATE_REASONS:
        return reasons
    kept = reasons[: MAX_GATE_REASONS - 1]
    return [*kept, f"… and {len(reasons) - len(kept)} more"]


def evaluate_gate(gate: Gate, evidence: GateEvidence, catalog: Catalog | None = None) -> GateResult:
    """The gate's status from its rule (if any) and the inventory's manual evidence."""
    waves = (catalog or load_catalog()).waves_of(gate.id)
    manual = evidence.inventory.gates.get(gate.id)
    decided_by: DecidedBy
    if gate.rule is None:
        status, reasons = _manual(gate, manual)
        decided_by = "manual" if manual else "none"
        return GateResult(gate, status, decided_by, _capped(reasons), waves, manual)
    status, reasons = aggregate(RULES[gate.rule.kind](evidence, gate.rule))
    if status == "unknown" and manual is not None:
        status, manual_reasons = _manual(gate, manual)
        return GateResult(gate, status, "manual", _capped(manual_reasons + reasons), waves, manual)
    if manual is not None:
        reasons += _manual(gate, manual)[1]
    if status == "ready" and gate.manual_part and not (manual and manual.status == "ready"):
        status = "partial"
        reasons.append(f"needs manual evidence claiming ready for: {gate.manual_part}")
    decided_by = "none" if status == "unknown" else "evidence"
    return GateResult(gate, status, decided_by, _capped(reasons), waves, manual)


def evaluate_gates(evidence: GateEvidence, catalog: Catalog | None = None) -> list[GateResult]:
    """Every gate of the catalog, in catalog order."""
    catalog = catalog or load_catalog()
    return [evaluate_gate(gate, evidence, catalog) for gate in catalog.gates]


def wave_status(statuses: list[GateStatus]) -> GateStatus:
    """A wave's status from its gates' statuses."""
    if statuses and all(s == "ready" for s in statuses):
        return "ready"
    if "blocked" in statuses:
        return "blocked"
    if all(s == "unknown" for s in statuses):
        return "unknown"
    return "partial"


def evaluate_waves(
    statuses: Mapping[str, GateStatus], catalog: Catalog | None = None
) -> list[WaveResult]:
    """Every wave from the gates' statuses (a gate not evaluated yet counts as unknown)."""
    results = []
    for wave in (catalog or load_catalog()).waves:
        gates: dict[str, GateStatus] = {g: statuses.get(g, "unknown") for g in wave.gates}
        results.append(WaveResult(wave, wave_status(list(gates.values())), gates))
    return results

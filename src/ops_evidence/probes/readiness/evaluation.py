"""Each gate's status and reasons from its rule, the inventory's manual evidence and
exemptions; waves.

    gate without a rule     manual evidence decides (its claimed status, `partial` when it
                            claims none); without manual evidence the gate is `unknown` —
                            never `ready`
    gate with a rule        the rule decides; while the rule has no evidence (`unknown`),
                            manual evidence stands in for it
    rule + `manual_part`    the rule alone reaches at most `partial`: `ready` also needs
                            manual evidence claiming `ready` (what probes cannot see)
    expired attestation     (`expires:` / `review_every:` passed) counts as no manual
                            evidence; the first reason says "attestation expired on …"
    active exemption        `exempt` (decided by the exemption), or `ready` flagged exempt
                            when the evidence reached `ready` anyway — never a silent `ready`
    expired exemption       ignored; the first reason says "exemption expired on …"

Expiry is by day, against the evidence's `now` (never the wall clock): an entry expiring on
2026-09-01 counts up to the end of 2026-08-31 (UTC).

A wave is `ready` when all its gates are, `exempt` when all are ready or exempt and one is
exempt (it may proceed, flagged `ready (exempt)`), `blocked` when one is blocked, `unknown` when
none has evidence, else `partial`. An exempt gate never blocks its wave.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from ops_evidence.events.gate_catalog import (
    Catalog,
    Gate,
    GateStatus,
    Rule,
    SeedStatus,
    Wave,
    load_catalog,
)
from ops_evidence.events.types import MAX_GATE_REASONS
from ops_evidence.inventory.models import GateExemption, ManualGateEvidence
from ops_evidence.probes.readiness.rules import RULES, EvidenceRef, GateEvidence, aggregate

DecidedBy = Literal["evidence", "manual", "exemption", "none"]


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's living status: what decided it, why, the waves that need it, and the
    evidence it rests on."""

    gate: Gate
    status: GateStatus
    decided_by: DecidedBy
    reasons: list[str]
    waves: list[str]
    manual: ManualGateEvidence | None
    # The inventory's exemption for the gate, active or expired; `exempt` says it applies.
    exemption: GateExemption | None = None
    exempt: bool = False
    evidence: tuple[EvidenceRef, ...] = ()

    @property
    def label(self) -> str:
        """The status as people read it: `ready (exempt)` when an exemption applies anyway."""
        return f"{self.status} (exempt)" if self.exempt and self.status == "ready" else self.status

    def as_json(self) -> dict[str, Any]:
        """The result as plain JSON."""
        return {
            "gate": self.gate.id,
            "name": self.gate.name,
            "status": self.status,
            "exempt": self.exempt,
            "seed_status": self.gate.seed_status,
            "decided_by": self.decided_by,
            "reasons": self.reasons,
            "waves": self.waves,
            "owners": list(self.gate.owners),
            "manual_evidence": self.manual.model_dump(mode="json") if self.manual else None,
            "exemption": self.exemption.model_dump(mode="json") if self.exemption else None,
            "evidence": [
                {
                    "context_key": ref.context_key,
                    "run_id": ref.run_id,
                    "observed_at": ref.observed_at.isoformat() if ref.observed_at else None,
                }
                for ref in self.evidence
            ],
        }


@dataclass(frozen=True, slots=True)
class WaveResult:
    """A wave's status and the status of each of its gates."""

    wave: Wave
    status: GateStatus
    gates: dict[str, GateStatus]

    @property
    def ready(self) -> bool:
        """True when every gate of the wave is ready or exempt."""
        return self.status in ("ready", "exempt")

    @property
    def label(self) -> str:
        """`yes`, `yes (exempt)` when the wave relies on an exemption, or `no`."""
        return ("yes (exempt)" if self.status == "exempt" else "yes") if self.ready else "no"

    def as_json(self) -> dict[str, Any]:
        """The wave as plain JSON."""
        return {
            "wave": self.wave.id,
            "goal": self.wave.goal,
            "ready": self.ready,
            "exempt": self.status == "exempt",
            "status": self.status,
            "gates": self.gates,
            "notes": self.wave.notes,
        }


@dataclass
class _Verdict:
    """A gate's status while it is being worked out."""

    status: GateStatus
    decided_by: DecidedBy
    reasons: list[str]
    used: list[EvidenceRef] = field(default_factory=list)
    exempt: bool = False


def _manual(gate: Gate, manual: ManualGateEvidence | None) -> tuple[SeedStatus, list[str]]:
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


def _expired(expires_on: date | None, today: date) -> bool:
    return expires_on is not None and expires_on <= today


def _from_manual(gate: Gate, manual: ManualGateEvidence | None, today: date) -> _Verdict:
    """A gate without a rule: the manual evidence, unless it expired."""
    if manual is not None and _expired(manual.expires_on, today):
        reasons = [
            f"attestation expired on {manual.expires_on}",
            f"manual evidence no longer counts: {manual.link} ({manual.date}, {manual.by})",
        ]
        return _Verdict("unknown", "none", reasons)
    status, reasons = _manual(gate, manual)
    if manual is None:
        return _Verdict(status, "none", reasons)
    return _Verdict(status, "manual", reasons, [EvidenceRef(f"inventory:gates.{gate.id}")])


def _from_rule(gate: Gate, rule: Rule, evidence: GateEvidence, today: date) -> _Verdict:
    """A gate with a rule: the rule, with manual evidence (unless expired) standing in or
    adding what the rule cannot see."""
    result = RULES[rule.kind](evidence, rule)
    used = list(dict.fromkeys(ref for f in result.findings for ref in f.used))
    status, reasons = aggregate(result)
    manual = evidence.inventory.gates.get(gate.id)
    expired_note: list[str] = []
    if manual is not None and _expired(manual.expires_on, today):
        expired_note, manual = [f"attestation expired on {manual.expires_on}"], None
    manual_ref = [EvidenceRef(f"inventory:gates.{gate.id}")] if manual else []
    if status == "unknown" and manual is not None:
        manual_status, manual_reasons = _manual(gate, manual)
        return _Verdict(manual_status, "manual", manual_reasons + reasons, manual_ref + used)
    if manual is not None:
        reasons += _manual(gate, manual)[1]
    if status == "ready" and gate.manual_part and not (manual and manual.status == "ready"):
        status = "partial"
        reasons.append(f"needs manual evidence claiming ready for: {gate.manual_part}")
    decided_by: DecidedBy = "none" if status == "unknown" else "evidence"
    return _Verdict(status, decided_by, expired_note + reasons, used + manual_ref)


def _apply_exemption(gate: Gate, exemption: GateExemption, verdict: _Verdict, today: date) -> None:
    """An active exemption makes the gate `exempt` (or flags a `ready` one); an expired one
    only says so, first."""
    if _expired(exemption.expires, today):
        note = f"exemption expired on {exemption.expires} (owner {exemption.owner})"
        verdict.reasons.insert(0, note)
        return
    note = f"exempt until {exemption.expires} (owner {exemption.owner}): {exemption.reason}"
    verdict.exempt = True
    verdict.used.append(EvidenceRef(f"inventory:exemptions.{gate.id}"))
    if verdict.status == "ready":
        verdict.reasons.append(note)
        return
    verdict.reasons[:0] = [note, f"without the exemption: {verdict.status}"]
    verdict.status, verdict.decided_by = "exempt", "exemption"


def evaluate_gate(gate: Gate, evidence: GateEvidence, catalog: Catalog | None = None) -> GateResult:
    """The gate's status from its rule (if any), the inventory's manual evidence and its
    exemption, as of the evidence's `now`."""
    waves = (catalog or load_catalog()).waves_of(gate.id)
    today = evidence.now.date()
    manual = evidence.inventory.gates.get(gate.id)
    if gate.rule is None:
        verdict = _from_manual(gate, manual, today)
    else:
        verdict = _from_rule(gate, gate.rule, evidence, today)
    exemption = evidence.inventory.exemptions.get(gate.id)
    if exemption is not None:
        _apply_exemption(gate, exemption, verdict, today)
    return GateResult(
        gate,
        verdict.status,
        verdict.decided_by,
        _capped(verdict.reasons),
        waves,
        manual,
        exemption,
        verdict.exempt,
        tuple(dict.fromkeys(verdict.used)),
    )


def evaluate_gates(evidence: GateEvidence, catalog: Catalog | None = None) -> list[GateResult]:
    """Every gate of the catalog, in catalog order."""
    catalog = catalog or load_catalog()
    return [evaluate_gate(gate, evidence, catalog) for gate in catalog.gates]


def wave_status(statuses: list[GateStatus]) -> GateStatus:
    """A wave's status from its gates' statuses: an exempt gate does not hold the wave back,
    but a wave that is ready only thanks to one is `exempt`, not `ready`."""
    if statuses and all(s in ("ready", "exempt") for s in statuses):
        return "exempt" if "exempt" in statuses else "ready"
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

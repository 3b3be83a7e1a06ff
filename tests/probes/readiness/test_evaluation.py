"""Combining rules with manual evidence, and the waves the gates add up to."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ops_evidence.events.gate_catalog import GateStatus, load_catalog
from ops_evidence.events.types import MAX_GATE_REASONS
from ops_evidence.probes.readiness.evaluation import (
    GateResult,
    evaluate_gate,
    evaluate_gates,
    evaluate_waves,
    wave_status,
)
from tests.probes.readiness.evidence import (
    catalogued_service,
    endpoint,
    endpoint_seen,
    evidence,
    inventory,
)


def manual(status: str | None = None, **fields: Any) -> dict[str, Any]:
    """A manual evidence entry for the inventory's `gates:` section."""
    entry: dict[str, Any] = {
        "link": "https://git.test/runbook.md",
        "date": "2026-06-20",
        "by": "operator",
        **fields,
    }
    if status is not None:
        entry["status"] = status
    return entry


def gate(gate_id: str, **inventory_sections: Any) -> GateResult:
    """Evaluate one gate against an inventory built from the sections."""
    return evaluate_gate(load_catalog().gate(gate_id), evidence(inventory(**inventory_sections)))


def test_a_manual_gate_stays_unknown_without_manual_evidence() -> None:
    """OPS-G08 (secrets path) has no rule: without manual evidence it is unknown, never more."""
    result = gate("OPS-G08")
    assert result.status == "unknown"
    assert result.decided_by == "none"
    assert result.reasons == ["no manual evidence (add gates.OPS-G08 to the inventory)"]


@pytest.mark.parametrize(
    ("claimed", "expected"),
    [(None, "partial"), ("ready", "ready"), ("blocked", "blocked"), ("partial", "partial")],
)
def test_manual_evidence_decides_a_manual_gate(claimed: str | None, expected: str) -> None:
    """With manual evidence, the claimed status holds; no claim means partial."""
    result = gate("OPS-G08", gates={"OPS-G08": manual(claimed, notes="secret paths documented")})
    assert result.status == expected
    assert result.decided_by == "manual"
    assert result.reasons == [
        "manual evidence: https://git.test/runbook.md (2026-06-20, operator)",
        "secret paths documented",
    ]
    assert result.manual is not None
    assert result.manual.date == date(2026, 6, 20)


def test_a_rule_with_a_manual_part_is_partial_until_manual_evidence_claims_ready() -> None:
    """OPS-G14: health checks and endpoint probes are declared, logs and metrics are not
    visible to a rule: partial until manual evidence claims ready."""
    sections: dict[str, Any] = {
        "services": [catalogued_service("gitea")],
        "endpoints": [endpoint("ui", "gitea")],
    }
    g14 = load_catalog().gate("OPS-G14")
    partial = evaluate_gate(g14, evidence(inventory(**sections)))
    assert partial.status == "partial"
    assert partial.decided_by == "evidence"
    assert partial.reasons[-1] == (
        "needs manual evidence claiming ready for: logs and metrics documented per service"
    )
    with_manual = inventory(**sections, gates={"OPS-G14": manual("ready")})
    ready = evaluate_gate(g14, evidence(with_manual))
    assert ready.status == "ready"
    assert "manual evidence: https://git.test/runbook.md (2026-06-20, operator)" in ready.reasons


def test_g05_is_ready_from_a_publish_without_manual_evidence() -> None:
    """OPS-G05 has no manual part: a recent verified publish makes it ready on its own."""
    inv = inventory(
        services=[catalogued_service("gitea")],
        endpoints=[endpoint("registry", "gitea", registry=True, publish=True)],
    )
    seen = endpoint_seen("registry", verified=True, publish=True)
    result = evaluate_gate(load_catalog().gate("OPS-G05"), evidence(inv, seen))
    assert (result.status, result.decided_by) == ("ready", "evidence")
    assert result.reasons == ["all 1 registry checks meet the requirement"]


def test_a_manual_ready_claim_does_not_override_failing_evidence() -> None:
    """When the rule has evidence (a failing registry), a manual `ready` claim does not win."""
    inv = inventory(
        services=[catalogued_service("gitea")],
        endpoints=[endpoint("registry", "gitea", registry=True)],
        gates={"OPS-G05": manual("ready")},
    )
    result = evaluate_gate(
        load_catalog().gate("OPS-G05"), evidence(inv, endpoint_seen("registry", verified=False))
    )
    assert result.status == "blocked"
    assert result.decided_by == "evidence"


def test_manual_evidence_stands_in_while_a_rule_has_no_evidence() -> None:
    """OPS-G06 with no backup observed yet takes the manual claim, rule reasons kept."""
    result = gate("OPS-G06", backups=[], gates={"OPS-G06": manual("partial")})
    assert result.status == "partial"
    assert result.decided_by == "manual"
    assert result.reasons[-1] == "no persistent stores in the inventory"


def test_reasons_are_capped_for_the_event() -> None:
    """Many problems: at most MAX_GATE_REASONS reasons, the last one counting the rest."""
    services = [{"id": f"svc{i}", "environment": "local"} for i in range(20)]
    result = gate("OPS-G14", services=services)
    assert len(result.reasons) == MAX_GATE_REASONS
    assert result.reasons[-1] == "… and 10 more"


def test_every_gate_is_evaluated_in_catalog_order() -> None:
    """evaluate_gates returns all fifteen gates, each with the waves that require it."""
    results = evaluate_gates(evidence(inventory()))
    assert [r.gate.id for r in results] == [f"OPS-G{n:02d}" for n in range(1, 16)]
    assert results[0].waves == ["wave-0-catalog"]
    assert results[11].waves == ["wave-4-service-migration"]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["ready", "ready"], "ready"),
        (["ready", "blocked", "partial"], "blocked"),
        (["unknown", "unknown"], "unknown"),
        (["ready", "unknown"], "partial"),
        (["partial", "ready"], "partial"),
    ],
)
def test_wave_status(statuses: list[GateStatus], expected: GateStatus) -> None:
    """A wave is ready only when all its gates are; one blocked gate blocks it."""
    assert wave_status(statuses) == expected


def test_waves_from_gate_statuses() -> None:
    """Wave 0 is ready when G01, G02 and G15 are; gates not evaluated count as unknown."""
    ready: dict[str, GateStatus] = {"OPS-G01": "ready", "OPS-G02": "ready", "OPS-G15": "ready"}
    waves = evaluate_waves(ready)
    assert waves[0].wave.id == "wave-0-catalog"
    assert waves[0].ready
    assert not any(w.ready for w in waves[1:])
    assert waves[1].gates == dict.fromkeys(("OPS-G03", "OPS-G05", "OPS-G08", "OPS-G14"), "unknown")

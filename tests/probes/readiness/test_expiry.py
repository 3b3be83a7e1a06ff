"""Gate evidence that expires: attestations (`expires:`, `review_every:`) and exemptions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from ops_evidence.events.gate_catalog import GateStatus, load_catalog
from ops_evidence.inventory.models import ManualGateEvidence
from ops_evidence.probes.readiness.evaluation import (
    GateResult,
    evaluate_gate,
    evaluate_waves,
    wave_status,
)
from ops_evidence.probes.readiness.rules import EvidenceRef
from tests.probes.readiness.evidence import catalogued_service, endpoint, evidence, inventory

# NOW is 2026-06-15 12:00 UTC (tests/probes/readiness/evidence.py).
ATTESTED = {"link": "https://git.test/runbook.md", "date": "2026-03-01", "by": "operator"}
EXEMPTION = {"owner": "platform-team", "reason": "waiting for the new cluster"}


def gate(gate_id: str, **sections: Any) -> GateResult:
    """Evaluate one gate at NOW against an inventory built from the sections."""
    return evaluate_gate(load_catalog().gate(gate_id), evidence(inventory(**sections)))


def g14_sections(**manual: Any) -> dict[str, Any]:
    """OPS-G14 fully declared (its rule ready), with manual evidence claiming ready."""
    return {
        "services": [catalogued_service("web")],
        "endpoints": [endpoint("web-root", "web")],
        "gates": {"OPS-G14": {**ATTESTED, "status": "ready", **manual}},
    }


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        ({"expires": "2026-06-16"}, date(2026, 6, 16)),
        ({"review_every": "90d"}, date(2026, 5, 30)),
        ({"review_every": "36h"}, date(2026, 3, 2)),
        # Both: the earlier day wins, whichever field gives it.
        ({"expires": "2026-12-31", "review_every": "30d"}, date(2026, 3, 31)),
        ({"expires": "2026-03-10", "review_every": "365d"}, date(2026, 3, 10)),
        ({}, None),
    ],
)
def test_an_attestation_expires_on_the_earlier_of_its_expiry_and_review(
    expiry: dict[str, str], expected: date | None
) -> None:
    """`expires_on` is `expires`, or `date + review_every` in whole days, the earlier of the two."""
    assert ManualGateEvidence.model_validate({**ATTESTED, **expiry}).expires_on == expected


def test_expired_manual_evidence_leaves_a_manual_gate_unknown() -> None:
    """OPS-G03 (no rule) attested ready until 2026-06-15: on that day it is unknown, the first
    reason saying when the attestation expired; the day before it still counts."""
    entry = {**ATTESTED, "status": "ready", "expires": "2026-06-15"}
    expired = gate("OPS-G03", gates={"OPS-G03": entry})
    assert (expired.status, expired.decided_by) == ("unknown", "none")
    assert expired.reasons[0] == "attestation expired on 2026-06-15"
    assert expired.evidence == ()  # expired evidence is not evidence used
    current = gate("OPS-G03", gates={"OPS-G03": {**entry, "expires": "2026-06-16"}})
    assert (current.status, current.decided_by) == ("ready", "manual")
    assert current.evidence == (EvidenceRef("inventory:gates.OPS-G03"),)


def test_review_every_expires_manual_evidence() -> None:
    """Attested 2026-03-01 with a 90-day review: due 2026-05-30, so unknown on 2026-06-15; a
    180-day review still counts."""
    overdue = gate(
        "OPS-G03", gates={"OPS-G03": {**ATTESTED, "status": "ready", "review_every": "90d"}}
    )
    assert overdue.status == "unknown"
    assert overdue.reasons[0] == "attestation expired on 2026-05-30"
    current = gate(
        "OPS-G03", gates={"OPS-G03": {**ATTESTED, "status": "ready", "review_every": "180d"}}
    )
    assert current.status == "ready"


def test_expired_manual_evidence_no_longer_completes_a_rule_with_a_manual_part() -> None:
    """OPS-G14: the rule is ready, the manual part (logs and metrics) was attested until
    2026-06-01: the gate falls back to what the rule alone reaches, partial."""
    result = gate("OPS-G14", **g14_sections(expires="2026-06-01"))
    assert (result.status, result.decided_by) == ("partial", "evidence")
    assert result.reasons[0] == "attestation expired on 2026-06-01"
    assert result.reasons[-1].startswith("needs manual evidence claiming ready for:")
    assert gate("OPS-G14", **g14_sections(expires="2026-07-01")).status == "ready"


def test_an_expired_attestation_does_not_stand_in_for_a_rule_without_evidence() -> None:
    """OPS-G06 with no backup observed: a current claim stands in, an expired one does not."""
    claim = {**ATTESTED, "status": "partial"}
    stood_in = gate("OPS-G06", gates={"OPS-G06": claim})
    assert (stood_in.status, stood_in.decided_by) == ("partial", "manual")
    expired = gate("OPS-G06", gates={"OPS-G06": {**claim, "review_every": "30d"}})
    assert (expired.status, expired.decided_by) == ("unknown", "none")
    assert expired.reasons[0] == "attestation expired on 2026-03-31"


def test_an_active_exemption_makes_a_gate_exempt() -> None:
    """OPS-G09 without evidence, exempt until 2026-07-01: `exempt`, decided by the exemption,
    the owner and reason first, what it would be without; the exemption names itself."""
    result = gate("OPS-G09", exemptions={"OPS-G09": {**EXEMPTION, "expires": "2026-07-01"}})
    assert (result.status, result.decided_by, result.exempt) == ("exempt", "exemption", True)
    assert result.label == "exempt"
    assert result.reasons[:2] == [
        "exempt until 2026-07-01 (owner platform-team): waiting for the new cluster",
        "without the exemption: unknown",
    ]
    assert EvidenceRef("inventory:exemptions.OPS-G09") in result.evidence


def test_an_exempt_gate_the_evidence_makes_ready_is_ready_exempt() -> None:
    """OPS-G14 ready from its evidence and also exempt: `ready`, flagged, shown `ready (exempt)`
    (never a silent ready)."""
    sections = g14_sections()
    sections["exemptions"] = {"OPS-G14": {**EXEMPTION, "expires": "2026-07-01"}}
    result = gate("OPS-G14", **sections)
    assert (result.status, result.decided_by, result.exempt) == ("ready", "evidence", True)
    assert result.label == "ready (exempt)"
    assert result.reasons[-1].startswith("exempt until 2026-07-01 (owner platform-team)")


def test_an_expired_exemption_gives_the_evaluated_status_with_the_reason() -> None:
    """OPS-G03 attested blocked, its exemption expired on 2026-06-15: blocked, not exempt, the
    first reason saying so."""
    result = gate(
        "OPS-G03",
        gates={"OPS-G03": {**ATTESTED, "status": "blocked"}},
        exemptions={"OPS-G03": {**EXEMPTION, "expires": "2026-06-15"}},
    )
    assert (result.status, result.decided_by, result.exempt) == ("blocked", "manual", False)
    assert result.reasons[0] == "exemption expired on 2026-06-15 (owner platform-team)"
    assert EvidenceRef("inventory:exemptions.OPS-G03") not in result.evidence


@pytest.mark.parametrize("missing", ["owner", "reason", "expires"])
def test_an_exemption_needs_owner_reason_and_expiry(missing: str) -> None:
    """An exemption without an owner, a reason or an expiry is refused."""
    entry = {**EXEMPTION, "expires": "2026-07-01"}
    del entry[missing]
    with pytest.raises(ValidationError, match=missing):
        inventory(exemptions={"OPS-G09": entry})


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["ready", "exempt"], "exempt"),
        (["exempt", "exempt"], "exempt"),
        (["exempt", "blocked"], "blocked"),
        (["exempt", "unknown"], "partial"),
    ],
)
def test_an_exempt_gate_does_not_hold_a_wave_back(
    statuses: list[GateStatus], expected: GateStatus
) -> None:
    """Exempt counts as not blocking; a wave ready only thanks to an exemption is `exempt`."""
    assert wave_status(statuses) == expected


def test_a_wave_relying_on_an_exemption_is_ready_exempt() -> None:
    """Wave 3 (G09, G10) with G09 exempt and G10 ready: ready, labelled `yes (exempt)`."""
    waves = evaluate_waves({"OPS-G09": "exempt", "OPS-G10": "ready"})
    wave = next(w for w in waves if w.wave.id == "wave-3-threephoenix-foundation")
    assert (wave.ready, wave.status, wave.label) == (True, "exempt", "yes (exempt)")
    assert wave.as_json()["exempt"] is True
    plain = next(
        w
        for w in evaluate_waves({"OPS-G09": "ready", "OPS-G10": "ready"})
        if w.wave.id == wave.wave.id
    )
    assert (plain.status, plain.label) == ("ready", "yes")

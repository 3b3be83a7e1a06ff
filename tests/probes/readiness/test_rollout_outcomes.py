"""Recorded rollout outcomes: written atomically, read back, unreadable ones ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ops_evidence.probes.readiness.rollout_outcomes import (
    RolloutOutcome,
    load_outcomes,
    outcome_path,
    record_outcome,
)
from ops_evidence.redact import register_secret

AT = datetime(2026, 6, 15, 12, tzinfo=UTC)


def test_recorded_outcomes_are_read_back(tmp_path: Path) -> None:
    """What gate-probe and smoke record is what the gate evaluation loads."""
    probe = RolloutOutcome(command="gate-probe", ok=False, at=AT, detail="blocked: key")
    smoke = RolloutOutcome(command="smoke", ok=True, at=AT, detail="all 7 checks ok")
    record_outcome(tmp_path, probe)
    path = record_outcome(tmp_path, smoke)
    assert path == tmp_path / "rollout" / "smoke.json"
    assert load_outcomes(tmp_path) == {"gate-probe": probe, "smoke": smoke}


def test_nothing_recorded_and_no_state_dir_mean_no_outcomes(tmp_path: Path) -> None:
    """No files, or no state directory at all: no outcomes (and no error)."""
    assert load_outcomes(tmp_path) == {}
    assert load_outcomes(None) == {}


def test_an_unreadable_outcome_is_ignored(tmp_path: Path) -> None:
    """A corrupt file counts as no outcome instead of breaking the gate evaluation."""
    path = outcome_path(tmp_path, "smoke")
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    assert load_outcomes(tmp_path) == {}


def test_a_secret_in_the_detail_is_not_recorded(tmp_path: Path) -> None:
    """The detail is redacted before it is written."""
    register_secret("canary-outcome-secret-77")
    record_outcome(
        tmp_path,
        RolloutOutcome(command="smoke", ok=False, at=AT, detail="refused canary-outcome-secret-77"),
    )
    assert "canary-outcome-secret-77" not in outcome_path(tmp_path, "smoke").read_text("utf-8")

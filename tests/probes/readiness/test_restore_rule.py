"""OPS-G07 (`restore-drills`): each store the gate names has a backup declaring a restore
drill whose latest recent `ops-restore-tested` verified; no backup, no drill, a failed
drill and a stale one each say so."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.gate_catalog import load_catalog
from ops_evidence.events.types import RestoreTested, RestoreTestedAttributes
from ops_evidence.probes.readiness.evaluation import evaluate_gate
from ops_evidence.probes.readiness.rules import restore_drills
from tests.probes.readiness.evidence import FRESH, NOW, backup, evidence, inventory

G07 = load_catalog().gate("OPS-G07")
STORES = ("gitea-db", "gitea-shared-storage", "state-hub-data")
assert G07.rule is not None
RULE = G07.rule


def drilled(backup_id: str, store: str) -> dict[str, Any]:
    """A files backup of `store` declaring a restore drill (7-day default interval)."""
    return {**backup(backup_id, store), "restore": {"max_size": "1GiB"}}


def restore_seen(backup_id: str, verified: bool, at: datetime = FRESH) -> EvidenceEvent:
    """An ops-restore-tested observation (a corrupt archive when not verified)."""
    attributes = RestoreTestedAttributes(
        verified=verified,
        reason=None if verified else "integrity_failed",
        backup=backup_id,
        store="s",
        tool="files",
        max_size_bytes=1024,
        scratch_removed=True,
    )
    return RestoreTested.build(
        context_key=f"restore:{backup_id}", attributes=attributes, observed_at=at
    )


def test_the_catalog_names_the_three_stores() -> None:
    """G07's rule names the Gitea database, the package blobs and State Hub's data."""
    assert G07.rule is not None
    assert (G07.rule.kind, G07.rule.stores) == ("restore-drills", STORES)


def test_each_store_passed_drill_makes_g07_ready() -> None:
    """A recent verified drill for each of the three stores: ready, with no manual part."""
    inv = inventory(backups=[drilled(f"b-{s}", s) for s in STORES])
    seen = [restore_seen(f"b-{s}", verified=True) for s in STORES]
    result = evaluate_gate(G07, evidence(inv, *seen))
    assert (result.status, result.decided_by) == ("ready", "evidence")


def test_missing_backup_missing_drill_failed_and_stale() -> None:
    """No backup and no drill are gaps; a failed drill is failed (blocked); a drill older
    than three of its intervals no longer counts."""
    inv = inventory(backups=[backup("plain", "gitea-db"), drilled("blobs", "gitea-shared-storage")])
    findings = restore_drills(evidence(inv, restore_seen("blobs", verified=False)), RULE)
    assert [(f.state, f.text) for f in findings.findings] == [
        ("gap", "store gitea-db: no restore drill declared"),
        ("failed", "store gitea-shared-storage: restore:blobs: integrity_failed"),
        ("gap", "store state-hub-data: no backup declared"),
    ]
    assert evaluate_gate(G07, evidence(inv, restore_seen("blobs", False))).status == "blocked"
    old = restore_seen("blobs", verified=True, at=NOW - timedelta(days=22))  # stale after 21
    [_, stale, _] = restore_drills(evidence(inv, old), RULE).findings
    assert (stale.state, stale.text) == (
        "unseen",
        "store gitea-shared-storage: restore:blobs: stale since 2026-06-14 12:00 UTC",
    )


def test_a_passed_drill_of_one_backup_is_enough() -> None:
    """Of two backups of one store, one passed drill makes the store ok."""
    inv = inventory(backups=[drilled("a", "gitea-db"), drilled("b", "gitea-db")])
    seen = [restore_seen("a", verified=False), restore_seen("b", verified=True)]
    [finding, *_] = restore_drills(evidence(inv, *seen), RULE).findings
    assert (finding.state, finding.text) == ("ok", "store gitea-db")
    assert [ref.context_key for ref in finding.used] == ["restore:b"]  # the drill that passed

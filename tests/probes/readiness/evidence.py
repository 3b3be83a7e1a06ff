"""Builders for the gate tests: inventories and observations at a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import (
    BackupVerified,
    BackupVerifiedAttributes,
    EndpointVerified,
    EndpointVerifiedAttributes,
    RegistryPublish,
    ServiceObserved,
    ServiceObservedAttributes,
)
from ops_evidence.inventory.models import Inventory
from ops_evidence.probes import MemoryObservations
from ops_evidence.probes.readiness.rollout_outcomes import RolloutCommand, RolloutOutcome
from ops_evidence.probes.readiness.rules import GateEvidence, planned_intervals

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
FRESH = NOW - timedelta(minutes=1)
# The default interval is 5m; three intervals make an observation stale.
STALE = NOW - timedelta(minutes=16)

SEED_ENVIRONMENTS = ["local", "coulombcore", "railiance01", "threephoenix-prod"]


def environment(env_id: str, **fields: Any) -> dict[str, Any]:
    """A fully declared environment (role, lifecycle, owner), fields overriding."""
    return {"id": env_id, "role": "a role", "lifecycle": "active", "owner": "ops", **fields}


def catalogued_service(service_id: str, **fields: Any) -> dict[str, Any]:
    """A service declaring everything G02 and G14 ask for, fields overriding."""
    return {
        "id": service_id,
        "environment": "local",
        "owner_repo": "ops-repo",
        "lifecycle": "active",
        "backing_stores": [],
        "check": {"kind": "tcp", "host": "127.0.0.1", "port": 1},
        **fields,
    }


def endpoint(
    endpoint_id: str, service: str, registry: bool = False, publish: bool = False
) -> dict[str, Any]:
    """An endpoint of `service`; a registry endpoint expects the OCI challenge header, and
    with `publish` declares a publishing check (password from a variable)."""
    expect: dict[str, Any] = {"status": 401 if registry else 200}
    if registry:
        expect["headers"] = {"Docker-Distribution-Api-Version": "registry/2.0"}
    declared = {
        "id": endpoint_id,
        "service": service,
        "url": "https://r.test/v2/",
        "expect": expect,
    }
    if publish:
        credentials = {"username": "ci", "password": {"env": "REGISTRY_PASSWORD"}}
        declared["publish"] = {"repository": "ops/scratch", **credentials}
    return declared


def backup(backup_id: str, store: str) -> dict[str, Any]:
    """A files backup of `store`."""
    return {
        "id": backup_id,
        "environment": "local",
        "store": store,
        "check": {"kind": "files", "path": "/srv/b", "pattern": "*"},
    }


def inventory(**sections: Any) -> Inventory:
    """An inventory with the seed environments fully declared unless given."""
    data: dict[str, Any] = {"environments": [environment(e) for e in SEED_ENVIRONMENTS]}
    data.update(sections)
    return Inventory.model_validate(data)


def endpoint_seen(
    endpoint_id: str, verified: bool, at: datetime = FRESH, publish: bool | None = None
) -> EvidenceEvent:
    """An ops-endpoint-verified observation; `publish` adds a publish that verified (True)
    or whose push was refused (False), and the event's verdict follows it."""
    published = None
    if publish is not None:
        published = RegistryPublish(
            verified=publish,
            reason=None if publish else "push refused: blob upload 401 (denied)",
            repository="ops/scratch",
            auth_scheme="basic",
            delete="deleted" if publish else "skipped",
        )
    ok = verified and publish is not False
    attributes = EndpointVerifiedAttributes(
        verified=ok,
        reason=None if ok else ("unexpected_status" if not verified else "publish_refused"),
        endpoint=endpoint_id,
        url="https://r.test/v2/",
        publish=published,
    )
    return EndpointVerified.build(
        context_key=f"endpoint:{endpoint_id}", attributes=attributes, observed_at=at
    )


def service_seen(service_id: str, verified: bool = True, at: datetime = FRESH) -> EvidenceEvent:
    """An ops-service-observed observation (up when verified)."""
    attributes = ServiceObservedAttributes(
        verified=verified,
        reason=None if verified else "connection_refused",
        service=service_id,
        status="up" if verified else "down",
        check="tcp",
        target="h:1",
    )
    return ServiceObserved.build(
        context_key=f"service:{service_id}", attributes=attributes, observed_at=at
    )


def backup_seen(backup_id: str, verified: bool, at: datetime = FRESH) -> EvidenceEvent:
    """An ops-backup-verified observation (too old when not verified)."""
    attributes = BackupVerifiedAttributes(
        verified=verified,
        reason=None if verified else "too_old",
        backup=backup_id,
        tool="files",
        max_age_seconds=3600,
    )
    return BackupVerified.build(
        context_key=f"backup:{backup_id}", attributes=attributes, observed_at=at
    )


def evidence(
    inv: Inventory,
    *events: EvidenceEvent,
    rollout: dict[RolloutCommand, RolloutOutcome] | None = None,
) -> GateEvidence:
    """Gate evidence at NOW from the inventory, these observations and rollout outcomes."""
    observations = MemoryObservations()
    for event in events:
        observations.record(event)
    gathered = GateEvidence(inv, observations, NOW, planned_intervals(inv))
    gathered.rollout = rollout or {}  # as if read from a state dir
    return gathered


def outcome(command: RolloutCommand, ok: bool, detail: str = "") -> RolloutOutcome:
    """A recorded rollout outcome from an hour ago."""
    return RolloutOutcome(command=command, ok=ok, at=NOW - timedelta(hours=1), detail=detail)

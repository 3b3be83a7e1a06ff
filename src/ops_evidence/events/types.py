"""The evidence event types published in `event-types/`: the five of the first slice and
`ops-readiness-gate-updated`.

Adding a type: one model here, named by its row in `vocabulary.EVENT_TYPES` (the table of
event types), plus its probe (docs/operations.md, "Adding an event type"). Schemas, manifest
and router find the model through `events.registry`, which this module does not import.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from ops_evidence.events.envelope import Attributes, EvidenceEvent
from ops_evidence.events.gate_catalog import GATE_ID_PATTERN, GateStatus
from ops_evidence.events.identifiers import ArchiveName, EvidenceValue, SnapshotId, Version

_SHORT = 200
# A gate event's reasons: how many (`probes.readiness.evaluation` keeps to it) and how long each.
MAX_GATE_REASONS = 12
MAX_GATE_REASON_LENGTH = _SHORT


def _fit_reason(value: Any) -> Any:
    """Cut a longer reason to its limit, ending in `…`. Reasons are free text, redacted on
    the way into the event, and masking can lengthen them: the model, not each producer,
    makes them fit (cutting redacted text reveals nothing)."""
    if isinstance(value, str) and len(value) > MAX_GATE_REASON_LENGTH:
        return value[: MAX_GATE_REASON_LENGTH - 1] + "…"
    return value


GateReason = Annotated[
    str, BeforeValidator(_fit_reason), StringConstraints(max_length=MAX_GATE_REASON_LENGTH)
]


class ServiceObservedAttributes(Attributes):
    """A catalogued service was observed up, degraded or down."""

    service: str = Field(description="Inventory service id.")
    status: Literal["up", "degraded", "down"]
    check: Literal["http", "tcp"] = Field(description="How the service was observed.")
    target: str = Field(max_length=_SHORT, description="Probed URL or host:port, redacted.")
    observed_version: Version | None = None
    declared_version: Version | None = None
    http_status: int | None = None
    latency_ms: float | None = None


class ServiceObserved(EvidenceEvent):
    """`ops-service-observed`: a service's health and observed version."""

    EVENT_TYPE = "ops-service-observed"
    SAMPLE_ATTRIBUTES: ClassVar[Mapping[str, Any]] = {
        "service": "smoke",
        "status": "up",
        "check": "http",
        "target": "https://smoke.invalid/",
    }
    event_type: Literal["ops-service-observed"]
    attributes: ServiceObservedAttributes


class EndpointVerifiedAttributes(Attributes):
    """An endpoint answered (or not) as declared."""

    endpoint: str = Field(description="Inventory endpoint id.")
    service: str | None = None
    url: str = Field(max_length=_SHORT, description="Scheme, host, port and path; no query.")
    method: str = "GET"
    expected_status: list[int] = Field(default_factory=list)
    observed_status: int | None = None
    expected_headers: dict[str, str] = Field(default_factory=dict)
    observed_headers: dict[str, str] = Field(
        default_factory=dict, description="Only allow-listed headers, capped."
    )
    tls_days_remaining: int | None = None
    tls_not_after: datetime | None = None
    tls_min_days: int | None = None
    latency_ms: float | None = None


class EndpointVerified(EvidenceEvent):
    """`ops-endpoint-verified`: status, headers and TLS lifetime of an endpoint."""

    EVENT_TYPE = "ops-endpoint-verified"
    SAMPLE_ATTRIBUTES: ClassVar[Mapping[str, Any]] = {
        "endpoint": "smoke",
        "url": "https://smoke.invalid/",
    }
    event_type: Literal["ops-endpoint-verified"]
    attributes: EndpointVerifiedAttributes


class AccessPathCheckedAttributes(Attributes):
    """An operator access path (ssh, tcp, tls, dns, kubernetes-api) works or not."""

    access_path: str = Field(description="Inventory access-path id.")
    method: Literal["ssh", "tcp", "tls", "dns", "kubernetes-api"]
    target: str = Field(max_length=_SHORT)
    host: str | None = Field(default=None, description="Inventory host id, when declared.")
    banner: str | None = Field(default=None, max_length=_SHORT)
    declared_addresses: list[str] = Field(default_factory=list)
    resolved_addresses: list[str] = Field(default_factory=list)
    tls_days_remaining: int | None = None
    tls_subject: str | None = Field(default=None, max_length=_SHORT)
    tls_issuer: str | None = Field(default=None, max_length=_SHORT)
    tls_serial: str | None = Field(
        default=None, max_length=_SHORT, description="Hex, colon-separated."
    )
    tls_sans: list[str] = Field(default_factory=list, max_length=20, description="DNS names.")
    tls_not_after: datetime | None = None
    kubernetes_version: Version | None = None
    latency_ms: float | None = None


class AccessPathChecked(EvidenceEvent):
    """`ops-access-path-checked`: reachability of an operator access path."""

    EVENT_TYPE = "ops-access-path-checked"
    SAMPLE_ATTRIBUTES: ClassVar[Mapping[str, Any]] = {
        "access_path": "smoke",
        "method": "tcp",
        "target": "smoke.invalid:22",
    }
    event_type: Literal["ops-access-path-checked"]
    attributes: AccessPathCheckedAttributes


class BackupVerifiedAttributes(Attributes):
    """A data store has (or lacks) a recent, successful backup of plausible size."""

    backup: str = Field(description="Inventory backup id.")
    store: str | None = Field(default=None, description="The data store it protects.")
    tool: Literal["restic", "borg", "pgbackrest", "files", "http"]
    last_backup_at: datetime | None = None
    age_seconds: float | None = None
    max_age_seconds: float
    size_bytes: int | None = None
    min_size_bytes: int | None = None
    last_run_failed: bool | None = None
    backup_count: int | None = None
    snapshot_id: SnapshotId | None = Field(
        default=None, description="The newest snapshot's (restic) or archive's (borg) id."
    )
    archive_name: ArchiveName | None = Field(
        default=None, description="The newest archive's name (borg) or backup label (pgBackRest)."
    )


class BackupVerified(EvidenceEvent):
    """`ops-backup-verified`: freshness, size and success of the newest backup."""

    EVENT_TYPE = "ops-backup-verified"
    SAMPLE_ATTRIBUTES: ClassVar[Mapping[str, Any]] = {
        "backup": "smoke",
        "tool": "files",
        "max_age_seconds": 86400,
    }
    event_type: Literal["ops-backup-verified"]
    attributes: BackupVerifiedAttributes


class DriftRecord(BaseModel):
    """One difference between declared inventory and observed reality."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["changed", "missing", "unmanaged"]
    entity: str = Field(description="Context key of the entity concerned.")
    attribute: str
    declared: EvidenceValue | None = None
    observed: EvidenceValue | None = None


class DriftSummary(BaseModel):
    """Counts per drift kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    changed: int = 0
    missing: int = 0
    unmanaged: int = 0


class InventoryDriftAttributes(Attributes):
    """Declared inventory compared with the latest observations of the other probes."""

    records: list[DriftRecord] = Field(default_factory=list, max_length=50)
    summary: DriftSummary = Field(default_factory=DriftSummary)
    truncated: bool = Field(default=False, description="More records existed than were kept.")


class InventoryDrift(EvidenceEvent):
    """`ops-inventory-drift`: what changed, is missing or is unmanaged in an environment."""

    EVENT_TYPE = "ops-inventory-drift"
    event_type: Literal["ops-inventory-drift"]
    attributes: InventoryDriftAttributes


class ReadinessGateAttributes(Attributes):
    """A readiness gate's status, computed from evidence, and why.

    `verified` is true only for `ready`; otherwise `reason` is the status.
    """

    gate: str = Field(pattern=GATE_ID_PATTERN, description="Gate id, e.g. `OPS-G05`.")
    name: str = Field(max_length=_SHORT)
    status: GateStatus
    seed_status: GateStatus = Field(description="The status the seed recorded (2026-06-14).")
    decided_by: Literal["evidence", "manual", "none"] = Field(
        description="Probe evidence, manual evidence from the inventory, or nothing yet."
    )
    reasons: list[GateReason] = Field(default_factory=list, max_length=MAX_GATE_REASONS)
    waves: list[str] = Field(default_factory=list, description="Waves that require the gate.")
    evidence_link: str | None = Field(default=None, max_length=_SHORT)
    evidence_date: date | None = None
    evidence_by: str | None = Field(default=None, max_length=64)

    @property
    def failed(self) -> bool:
        """Only an evaluation that could not run: a gate short of `ready` is a status to
        report, not a probe failure (otherwise `run --once` would exit 1 until migration
        is complete, and every pass would log fifteen `probe_failed` lines)."""
        return not self.verified and self.reason != self.status


class ReadinessGateUpdated(EvidenceEvent):
    """`ops-readiness-gate-updated`: a readiness gate's status changed (or its heartbeat)."""

    EVENT_TYPE = "ops-readiness-gate-updated"
    SAMPLE_ATTRIBUTES: ClassVar[Mapping[str, Any]] = {
        "gate": "OPS-G15",
        "name": "smoke",
        "status": "unknown",
        "seed_status": "unknown",
        "decided_by": "none",
    }
    event_type: Literal["ops-readiness-gate-updated"]
    attributes: ReadinessGateAttributes

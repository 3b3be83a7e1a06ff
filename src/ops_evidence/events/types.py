"""The evidence event types published in `event-types/`: the five of the first slice,
`ops-restore-tested` and `ops-readiness-gate-updated`.

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
from ops_evidence.events.gate_catalog import GATE_ID_PATTERN, GateStatus, SeedStatus
from ops_evidence.events.identifiers import (
    ArchiveName,
    Digest,
    EvidenceValue,
    Fingerprint,
    KeyType,
    ScratchTag,
    Serial,
    SnapshotId,
    Version,
)

_SHORT = 200
# A gate event's reasons: how many (`probes.readiness.evaluation` keeps to it) and how long each.
MAX_GATE_REASONS = 12
MAX_GATE_REASON_LENGTH = _SHORT
# How many pieces of evidence a gate event names; a gate over many entities says it left some out.
MAX_GATE_EVIDENCE = 50


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


# Certificate identifiers: kept verbatim by redaction (events/identifiers.py), and held to the
# exact form checks/certificates.py writes them in (colon-hex, as openssl prints them).
ColonHex = Annotated[Serial, StringConstraints(pattern=r"^[0-9A-F]{2}(:[0-9A-F]{2})*$")]
Sha256Fingerprint = Annotated[
    Fingerprint, StringConstraints(pattern=r"^[0-9A-F]{2}(:[0-9A-F]{2}){31}$", max_length=95)
]


class Certificate(BaseModel):
    """One certificate the server presented (public facts only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(max_length=_SHORT, description="RFC 4514 distinguished name.")
    issuer: str = Field(max_length=_SHORT, description="RFC 4514 distinguished name.")
    sans: list[str] = Field(default_factory=list, max_length=20, description="DNS names, IPs.")
    serial: ColonHex = Field(description="Hex, colon-separated.")
    fingerprint_sha256: Sha256Fingerprint = Field(description="SHA-256 of the DER, colon-hex.")
    not_before: datetime
    not_after: datetime


class TlsChainAttributes(Attributes):
    """The TLS facts an https endpoint and a tls access path share (absent without TLS)."""

    tls_chain: list[Certificate] = Field(
        default_factory=list,
        max_length=10,
        description="Every certificate the server presented, leaf first; kept when "
        "verification failed.",
    )
    tls_verified: bool | None = Field(
        default=None, description="The chain verified (None: verification was off)."
    )
    tls_verify_error: str | None = Field(
        default=None, max_length=_SHORT, description="Why verification failed (OpenSSL's words)."
    )
    tls_host_matched: bool | None = Field(
        default=None, description="The leaf's names cover the host name (SNI) asked for."
    )
    tls_expires_first: int | None = Field(
        default=None, description="Position in `tls_chain` of the earliest expiry (0: leaf)."
    )
    tls_days_remaining: float | None = Field(
        default=None,
        description="Days until the earliest expiry in the chain, rounded DOWN to one decimal "
        "(2.99 days is 2.9); `tls_min_days` is compared exactly, in seconds.",
    )
    tls_not_after: datetime | None = Field(
        default=None, description="The earliest expiry in the chain."
    )


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


# Addresses one per-address probe lists (and probes): bounds the event and the fan-out.
MAX_ADDRESSES = 32


class AddressVerdict(BaseModel):
    """One resolved address of a `per_address` endpoint and how it answered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field(max_length=45, description="IPv4 or IPv6 address connected to.")
    verified: bool
    status: int | None = Field(default=None, description="HTTP status it answered with.")
    reason: str | None = Field(default=None, max_length=64)
    latency_ms: float | None = None


# Steps of one publish: ping, token (and a re-fetch), two blobs of two requests each, the
# manifest's put and get, the blob's get, the delete (and retries after a token re-fetch).
MAX_PUBLISH_STEPS = 16


class PublishStep(BaseModel):
    """One request of a registry publish and what it showed (never a token or password)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(max_length=32, description="`ping`, `token`, `blob-put`, `delete` …")
    status: int | None = Field(default=None, description="HTTP status; None: no answer.")
    ok: bool
    digest: Digest | None = Field(default=None, description="The digest the step concerns.")
    detail: str | None = Field(default=None, max_length=300)


class RegistryPublish(BaseModel):
    """A publish on the endpoint's registry: push, pull back, delete in a scratch repository.

    `verified` only when every push and pull answered as the spec says and the digests read
    back are those pushed; a token's grant is recorded, never taken as proof."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verified: bool
    reason: str | None = Field(
        default=None, max_length=300, description="Which step failed, e.g. `push refused: …`."
    )
    repository: str = Field(max_length=200, description="The scratch repository.")
    tag: ScratchTag | None = Field(default=None, description="This run's unique tag.")
    auth_scheme: Literal["none", "basic", "bearer"] = Field(
        description="The auth the registry asked for (on `/v2/`, else the first request "
        "it challenged); `none`: it never asked."
    )
    granted_scope: str | None = Field(
        default=None, max_length=200, description="What the token realm says it granted."
    )
    steps: list[PublishStep] = Field(default_factory=list, max_length=MAX_PUBLISH_STEPS)
    delete: Literal["deleted", "disabled", "failed", "skipped"] = Field(
        description="`disabled`: the registry refuses deletes (405/400/UNSUPPORTED)."
    )
    manifest_digest: Digest | None = None
    blob_digest: Digest | None = None


class EndpointVerifiedAttributes(TlsChainAttributes):
    """An endpoint answered (or not) as declared."""

    endpoint: str = Field(description="Inventory endpoint id.")
    service: str | None = None
    url: str = Field(max_length=_SHORT, description="Scheme, host, port and path; no query.")
    method: str = "GET"
    addresses: list[AddressVerdict] = Field(
        default_factory=list,
        max_length=MAX_ADDRESSES,
        description="`per_address` only: each resolved address's verdict, sorted by address.",
    )
    min_addresses: int | None = Field(
        default=None, description="`per_address` only: addresses that must verify."
    )
    expected_status: list[int] = Field(default_factory=list)
    observed_status: int | None = None
    expected_headers: dict[str, str] = Field(default_factory=dict)
    observed_headers: dict[str, str] = Field(
        default_factory=dict, description="Only allow-listed headers, capped."
    )
    tls_min_days: int | None = None
    latency_ms: float | None = None
    publish: RegistryPublish | None = Field(
        default=None,
        description="The publish check, when the endpoint declares `publish:`; `verified` "
        "is true only when the route and the publish both verified.",
    )


class EndpointVerified(EvidenceEvent):
    """`ops-endpoint-verified`: status, headers and TLS lifetime of an endpoint."""

    EVENT_TYPE = "ops-endpoint-verified"
    SAMPLE_ATTRIBUTES: ClassVar[Mapping[str, Any]] = {
        "endpoint": "smoke",
        "url": "https://smoke.invalid/",
    }
    event_type: Literal["ops-endpoint-verified"]
    attributes: EndpointVerifiedAttributes


# An OpenSSH host key fingerprint (`SHA256:` + 43 unpadded base64), kept verbatim.
SshFingerprint = Annotated[Fingerprint, StringConstraints(pattern=r"^SHA256:[A-Za-z0-9+/]{43}$")]


class SshHostKey(BaseModel):
    """One host key the server proved it holds during the key exchange."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: KeyType = Field(description="Key algorithm, e.g. `ssh-ed25519`.")
    fingerprint: SshFingerprint = Field(description="OpenSSH form, `SHA256:` unpadded base64.")


class AccessPathCheckedAttributes(TlsChainAttributes):
    """An operator access path (ssh, tcp, tls, dns, kubernetes-api) works or not."""

    access_path: str = Field(description="Inventory access-path id.")
    method: Literal["ssh", "tcp", "tls", "dns", "kubernetes-api"]
    target: str = Field(max_length=_SHORT)
    host: str | None = Field(default=None, description="Inventory host id, when declared.")
    banner: str | None = Field(default=None, max_length=_SHORT)
    declared_addresses: list[str] = Field(default_factory=list)
    resolved_addresses: list[str] = Field(default_factory=list)
    missing_addresses: list[str] = Field(
        default_factory=list, description="dns: declared, but not in the answer."
    )
    extra_addresses: list[str] = Field(
        default_factory=list, description="dns: in the answer, but not declared."
    )
    tls_subject: str | None = Field(default=None, max_length=_SHORT)
    tls_issuer: str | None = Field(default=None, max_length=_SHORT)
    tls_serial: ColonHex | None = Field(default=None, description="The leaf's, colon-hex.")
    tls_sans: list[str] = Field(
        default_factory=list, max_length=20, description="The leaf's DNS names and IPs."
    )
    kubernetes_version: Version | None = None
    ssh_host_keys: list[SshHostKey] = Field(
        default_factory=list, max_length=8, description="ssh: the host keys the server holds."
    )
    ssh_expected_fingerprints: list[SshFingerprint] = Field(
        default_factory=list, max_length=20, description="ssh: the pinned fingerprints."
    )
    ssh_host_key_matched: bool | None = Field(
        default=None, description="ssh: a held key is pinned; null when unpinned or unread."
    )
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


class ChecksumSample(BaseModel):
    """One declared source file compared with its restored copy by sha256."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="The source file (its live location).")
    matched: bool
    detail: str | None = Field(default=None, max_length=_SHORT, description="Why not matched.")


class RestoreTestedAttributes(Attributes):
    """A backup was restored into scratch and checked; the scratch was removed afterwards."""

    backup: str = Field(description="Inventory backup id.")
    store: str = Field(description="The data store it protects.")
    tool: Literal["restic", "borg", "pgbackrest", "files"]
    tool_version: Version | None = None
    repository: str | None = Field(default=None, description="Repository, stanza or folder.")
    snapshot_id: SnapshotId | None = Field(
        default=None, description="The restored snapshot's (restic) or archive's (borg) id."
    )
    archive_name: ArchiveName | None = Field(
        default=None, description="The archive's name (borg), backup label (pgBackRest), file."
    )
    artifact_time: datetime | None = Field(default=None, description="When the backup was made.")
    rpo_seconds: float | None = Field(
        default=None,
        description="The restored backup's age when the drill started: the recovery point.",
    )
    duration_seconds: float | None = Field(
        default=None, description="How long the restore and its checks took: the recovery time."
    )
    files_restored: int | None = None
    bytes_restored: int | None = None
    max_size_bytes: int
    dry_run: bool = False
    checksums: list[ChecksumSample] = Field(default_factory=list, max_length=32)
    check_result: str | None = Field(
        default=None, max_length=_SHORT, description="What the verification said, in words."
    )
    scratch_removed: bool = Field(
        description="The drill folder was removed (checked after the removal, before this event)."
    )


class RestoreTested(EvidenceEvent):
    """`ops-restore-tested`: a restore drill of a backup (restore, verify, remove scratch)."""

    EVENT_TYPE = "ops-restore-tested"
    SAMPLE_ATTRIBUTES: ClassVar[Mapping[str, Any]] = {
        "backup": "smoke",
        "store": "smoke",
        "tool": "files",
        "max_size_bytes": 1024,
        "scratch_removed": True,
    }
    event_type: Literal["ops-restore-tested"]
    attributes: RestoreTestedAttributes


class DriftRecord(BaseModel):
    """One difference between declared inventory and observed reality."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["changed", "missing", "unmanaged"]
    entity: str = Field(description="Context key of the entity concerned.")
    attribute: str
    declared: EvidenceValue | None = None
    observed: EvidenceValue | None = None
    detail: str | None = Field(
        default=None,
        max_length=_SHORT,
        description="What differs, in words (addresses: `missing …; extra …`).",
    )


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


class EvidenceUsed(BaseModel):
    """One piece of evidence a gate's status rests on: an observation (its context key and
    run), a recorded rollout outcome (`rollout:smoke`), or an inventory entry
    (`inventory:gates.OPS-G05`, `inventory:exemptions.OPS-G09`), which has no run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    context_key: str = Field(min_length=1, max_length=_SHORT)
    run_id: str | None = Field(default=None, max_length=64)
    observed_at: datetime | None = None


class ReadinessGateAttributes(Attributes):
    """A readiness gate's status, computed from evidence, and why.

    `verified` is true only for `ready`; otherwise `reason` is the status.
    """

    gate: str = Field(pattern=GATE_ID_PATTERN, description="Gate id, e.g. `OPS-G05`.")
    name: str = Field(max_length=_SHORT)
    status: GateStatus
    seed_status: SeedStatus = Field(description="The status the seed recorded (2026-06-14).")
    decided_by: Literal["evidence", "manual", "exemption", "none"] = Field(
        description="Probe evidence, manual evidence or an exemption from the inventory, or "
        "nothing yet."
    )
    reasons: list[GateReason] = Field(default_factory=list, max_length=MAX_GATE_REASONS)
    waves: list[str] = Field(default_factory=list, description="Waves that require the gate.")
    evidence_link: str | None = Field(default=None, max_length=_SHORT)
    evidence_date: date | None = None
    evidence_by: str | None = Field(default=None, max_length=64)
    evidence_expires: date | None = Field(
        default=None, description="The first day the manual evidence no longer counts."
    )
    exempt: bool = Field(
        default=False,
        description="An active exemption applies: the status is `exempt`, or `ready` that the "
        "evidence reached anyway (shown `ready (exempt)`).",
    )
    exemption_owner: str | None = Field(default=None, max_length=64)
    exemption_expires: date | None = None
    evidence: list[EvidenceUsed] = Field(
        default_factory=list,
        max_length=MAX_GATE_EVIDENCE,
        description="The evidence the status rests on (run ids and times are left out of the "
        "emission dedupe: a gate is not re-emitted because its probes ran again).",
    )
    evidence_truncated: bool = Field(
        default=False, description=f"More than {MAX_GATE_EVIDENCE} pieces of evidence were used."
    )

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

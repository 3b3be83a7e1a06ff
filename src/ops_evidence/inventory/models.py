"""The inventory: environments, hosts, clusters, services, endpoints, access paths, backups.

Mirrors the seed `ops-hub-initial-inventory.md`. Cross-references (an endpoint's service,
a host's environment, …) are checked by `references.py` after the shapes validate, so the
error can name both ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import cached_property
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from ops_evidence.config.durations import ByteSize, Duration
from ops_evidence.events.gate_catalog import SeedStatus, load_catalog
from ops_evidence.events.vocabulary import EVENT_TYPES
from ops_evidence.inventory.checks import (
    AccessPathCheck,
    BackupCheck,
    Defaults,
    HttpOptions,
    PerAddress,
    RegistryPublishCheck,
    Schedule,
    ServiceCheck,
    Strict,
)
from ops_evidence.inventory.restore import RestoreDrill, refuse_unfit_drill

EntityId = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", min_length=1, max_length=63)
]
Lifecycle = Literal["active", "transitional", "provisioning", "planned", "retired", "unknown"]
Fact = str | int | float | bool
# The field `date` below would shadow the type inside its class body.
Day = date


class Entity(Strict):
    """What every inventory entry has: an id and free-form notes."""

    id: EntityId
    notes: str | None = None
    view_context: str | None = Field(
        default=None, description="Inter-Hub `viewContext` for this entity's events."
    )

    @property
    def probed(self) -> bool:
        """Whether the probe of its section runs for it (see `Service`)."""
        return True


class Environment(Entity):
    """A place things run (`local`, `coulombcore`, `railiance01`, `threephoenix-prod`)."""

    role: str
    lifecycle: Lifecycle = "unknown"
    owner: str | None = None
    address: str | None = Field(default=None, description="Public address, when it has one.")


class Host(Entity):
    """A machine in an environment."""

    environment: EntityId
    address: str | None = None
    role: str | None = None
    known_gaps: list[str] = Field(default_factory=list)


class Cluster(Entity):
    """A Kubernetes cluster in an environment."""

    environment: EntityId
    role: str | None = None


class Service(Entity, Schedule):
    """A catalogued service and, optionally, how to observe it."""

    environment: EntityId
    host: EntityId | None = None
    cluster: EntityId | None = None
    owner_repo: str | None = None
    lifecycle: Lifecycle = "unknown"
    version: str | None = Field(default=None, description="Declared version.")
    backing_stores: list[str] = Field(default_factory=list)
    facts: dict[str, Fact] = Field(default_factory=dict, description="Other declared facts.")
    check: ServiceCheck | None = None

    @property
    def probed(self) -> bool:
        """A service without a `check` is catalogued (drift, gates), not probed."""
        return self.check is not None


def in_clear_text(url: str) -> bool:
    """Whether `url` leaves this machine without TLS: any scheme but https (in any case, as
    URL schemes are case-insensitive), to a host that is not loopback."""
    parts = urlsplit(url)
    return parts.scheme.lower() != "https" and parts.hostname not in (
        "127.0.0.1",
        "localhost",
        "::1",
    )


class Endpoint(Entity, Schedule, HttpOptions, PerAddress):
    """A URL that must answer as declared (status, headers, TLS lifetime), on one address or,
    with `per_address`, on every address its host name resolves to."""

    service: EntityId
    environment: EntityId | None = Field(
        default=None, description="Defaults to the service's environment."
    )
    tls_min_days: int | None = Field(default=None, ge=0)
    publish: RegistryPublishCheck | None = Field(
        default=None,
        description="Also prove publishing on the registry at the URL's origin (push, pull, "
        "delete); the endpoint verifies only when the publish does too.",
    )

    @model_validator(mode="after")
    def _publish_over_tls(self) -> Self:
        # The password would cross the network in clear text (Basic, or to the token realm).
        if (
            self.publish is not None
            and self.publish.password is not None
            and in_clear_text(self.url)
        ):
            raise ValueError(
                "`publish` with a password needs an https:// URL (plain http only on loopback)"
            )
        return self


class AccessPath(Entity, Schedule):
    """How an operator reaches something: ssh, tcp, tls, dns or the Kubernetes API."""

    environment: EntityId
    host: EntityId | None = None
    cluster: EntityId | None = None
    check: AccessPathCheck


class Backup(Entity, Schedule):
    """A data store's backup and how to verify it is recent, successful and plausible."""

    environment: EntityId
    service: EntityId | None = None
    store: str = Field(description="The data store it protects, e.g. `gitea-db`.")
    max_age: Duration | None = None
    min_size: ByteSize | None = None
    check: BackupCheck
    restore: RestoreDrill | None = Field(
        default=None, description="A restore drill (`ops-restore-tested`); none when absent."
    )

    @field_validator("restore")
    @classmethod
    def _drill_fits_the_check(
        cls, value: RestoreDrill | None, info: ValidationInfo
    ) -> RestoreDrill | None:
        # `check` is validated first (field order); when it failed there is nothing to match.
        check = info.data.get("check")
        if value is not None and check is not None:
            refuse_unfit_drill(check, value)
        return value


class ManualGateEvidence(Strict):
    """Evidence for a readiness gate that no probe can see: where it is, when, and who says so.

    It may expire: on `expires`, or `review_every` after its `date`; with both, the earlier
    day wins (a review period cannot stretch a fixed end, nor the other way round).
    """

    link: str = Field(min_length=1, description="URL or repo path of the evidence.")
    date: Day
    by: str = Field(min_length=1, description="Who recorded it.")
    status: SeedStatus | None = Field(
        default=None, description="The status the evidence supports; `partial` when omitted."
    )
    notes: str | None = None
    expires: Day | None = Field(
        default=None, description="The first day the attestation no longer counts."
    )
    review_every: Duration | None = Field(
        default=None, description="The attestation no longer counts this long after `date`."
    )

    @property
    def expires_on(self) -> Day | None:
        """The first day the attestation no longer counts, or None when it does not expire."""
        days = [d for d in (self.expires, self._review_due()) if d is not None]
        return min(days, default=None)

    def _review_due(self) -> Day | None:
        # Whole days: an attestation is dated, not timed; `review_every: 36h` is due a day on.
        if self.review_every is None:
            return None
        return self.date + timedelta(days=self.review_every // timedelta(days=1))


class GateExemption(Strict):
    """A readiness gate let off for a while: who decided, why, and until when (all required:
    an exemption nobody owns or that never ends is a silent `ready`)."""

    owner: str = Field(min_length=1, description="Who owns the exemption.")
    reason: str = Field(min_length=1, description="Why the gate is exempt.")
    expires: Day = Field(description="The first day the exemption no longer applies.")


# The sections whose entries have ids (`gates` is keyed by gate id, not a list of entities),
# in the order a file lists them.
SECTIONS = (
    "environments",
    "hosts",
    "clusters",
    "services",
    "endpoints",
    "access_paths",
    "backups",
)


class Inventory(Strict):
    """One inventory file."""

    version: Literal[1] = 1
    name: str = "inventory"
    defaults: Defaults = Field(default_factory=Defaults)
    environments: list[Environment] = Field(default_factory=list)
    hosts: list[Host] = Field(default_factory=list)
    clusters: list[Cluster] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    access_paths: list[AccessPath] = Field(default_factory=list)
    backups: list[Backup] = Field(default_factory=list)
    gates: dict[str, ManualGateEvidence] = Field(
        default_factory=dict, description="Manual evidence per readiness gate id (`OPS-G03`)."
    )
    exemptions: dict[str, GateExemption] = Field(
        default_factory=dict, description="Exemptions per readiness gate id (`OPS-G09`)."
    )

    def schedule_of(self, entity: Schedule) -> Schedule:
        """The entity's schedule with the inventory defaults filled in."""
        return Schedule(
            interval=entity.interval or self.defaults.interval,
            timeout=entity.timeout or self.defaults.timeout,
            heartbeat=entity.heartbeat or self.defaults.heartbeat,
        )

    def backup_max_age(self, backup: Backup) -> timedelta:
        """A backup's maximum age, or the inventory default."""
        return backup.max_age or self.defaults.backup_max_age

    def service(self, service_id: str) -> Service | None:
        """Look up a service by id."""
        return next((s for s in self.services if s.id == service_id), None)

    def section(self, name: str) -> Sequence[Entity]:
        """The entries of the section an event type runs for (`EventTypeSpec.section`);
        none for `gates`, which are not inventory entities (the gate catalog lists them).
        KeyError for any other name, so a typo in the table fails rather than plans nothing."""
        if name == "gates":
            return ()
        if name not in SECTIONS:
            raise KeyError(name)
        entries: Sequence[Entity] = getattr(self, name)
        return entries

    def entity(self, section: str, entity_id: str) -> Entity | None:
        """The entry with this id in a section, or None."""
        return self._by_id[section].get(entity_id) if section != "gates" else None

    @cached_property
    def _by_id(self) -> dict[str, dict[str, Entity]]:
        # Built once: every probe run looks its entry up, and a scan of 1,000 endpoints per run
        # was ~5% of the service's CPU per probe (bench/README.md, service.py profile). The
        # model is frozen, so the index cannot go stale.
        return {name: {item.id: item for item in self.section(name)} for name in SECTIONS}

    def probe_targets(self) -> dict[str, list[str]]:
        """Event type -> ids of the entities a probe would run for, from the table of event
        types: its section's probed entries (those that set the type's `config` attribute,
        when it has one), or for `gates` the shipped catalog's gate ids."""
        return {
            spec.name: (
                load_catalog().gate_ids()
                if spec.section == "gates"
                else [
                    item.id
                    for item in self.section(spec.section)
                    if item.probed and (spec.config is None or getattr(item, spec.config, None))
                ]
            )
            for spec in EVENT_TYPES.values()
        }

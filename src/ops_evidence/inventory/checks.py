"""How each inventory entity is checked: the settings of the shared checks.

Where there are several ways to check one kind of entity (access paths, backups, services)
they form a union discriminated by `kind`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ops_evidence.config.durations import ByteSize, Duration
from ops_evidence.inventory.host_keys import (
    FINGERPRINT_PATTERN,
    MAX_PINNED_KEYS,
    read_known_hosts,
)
from ops_evidence.inventory.secrets import Secret, reject_url_credentials


class Strict(BaseModel):
    """Inventory models reject unknown keys and are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, int | str) and not isinstance(value, bool) else value


def _valid_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


Url = Annotated[
    str,
    Field(pattern=r"^https?://[^\s/?#]+", description="http:// or https:// URL"),
    AfterValidator(reject_url_credentials),
]
Repository = Annotated[str, Field(min_length=1), AfterValidator(reject_url_credentials)]
Regex = Annotated[str, AfterValidator(_valid_regex)]
Port = Annotated[int, Field(ge=1, le=65535)]
StatusList = Annotated[
    list[Annotated[int, Field(ge=100, le=599)]], BeforeValidator(_as_list), Field(min_length=1)
]


class JsonFieldExpect(Strict):
    """Assert a field of a JSON response: `path` is dotted (`status.db`)."""

    path: str = Field(min_length=1)
    equals: str | int | float | bool | None = None
    pattern: Regex | None = None


class HttpExpect(Strict):
    """What a declared HTTP answer looks like."""

    status: StatusList = Field(default_factory=lambda: [200])
    headers: dict[str, str] = Field(default_factory=dict, description="Exact header values.")
    header_patterns: dict[str, Regex] = Field(default_factory=dict, description="Header regexes.")
    json_field: JsonFieldExpect | None = None


class BasicAuth(Strict):
    """HTTP basic auth; the password comes from a file or variable."""

    username: str
    password: Secret


class VersionSource(Strict):
    """Where an HTTP check reads the observed version from (first that is set)."""

    json_field: str | None = None
    header: str | None = None
    pattern: Regex | None = Field(default=None, description="Regex on the body; group 1.")


class HttpOptions(Strict):
    """Settings of the shared http check."""

    url: Url
    method: Literal["GET", "HEAD", "POST", "OPTIONS"] = "GET"
    expect: HttpExpect = Field(default_factory=HttpExpect)
    follow_redirects: bool = False
    verify_tls: bool = True
    ca_file: Path | None = None
    max_body_bytes: ByteSize = 65536
    basic_auth: BasicAuth | None = None
    bearer_token: Secret | None = None


# An OCI repository name (distribution spec v1.1): lowercase path components.
_OCI_REPOSITORY = (
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)


class RegistryPublishCheck(Strict):
    """Prove publishing on a registry endpoint: push, pull back and delete a small image in a
    scratch repository, as the declared user (Basic, or a token from the registry's realm)."""

    repository: str = Field(
        pattern=_OCI_REPOSITORY,
        max_length=200,
        description="Scratch repository pushed to (e.g. `ops-evidence/scratch`); every run "
        "adds a uniquely tagged image to it.",
    )
    username: str | None = Field(default=None, min_length=1, max_length=200)
    password: Secret | None = Field(default=None, description="The user's password or token.")
    delete: bool = Field(
        default=True, description="Delete the pushed manifest by digest afterwards."
    )

    @model_validator(mode="after")
    def _user_with_password(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("give `username` and `password` together, or neither")
        return self


class HttpServiceCheck(HttpOptions):
    """Observe a service through its health URL (and optionally read its version)."""

    kind: Literal["http"]
    version: VersionSource | None = None
    degraded_status: StatusList | None = Field(
        default=None, description="Statuses that mean up-but-degraded (e.g. 429, 503)."
    )


class TcpServiceCheck(Strict):
    """Observe a service by connecting to its port."""

    kind: Literal["tcp"]
    host: str
    port: Port
    banner: Regex | None = None


ServiceCheck = Annotated[HttpServiceCheck | TcpServiceCheck, Field(discriminator="kind")]


def _fingerprint(value: str) -> str:
    if not re.fullmatch(FINGERPRINT_PATTERN, value):
        raise ValueError(
            "not an OpenSSH host key fingerprint: want `SHA256:` and 43 base64 characters,"
            " as `ssh-keygen -lf KEY.pub` prints"
        )
    return value


Fingerprint = Annotated[
    str, AfterValidator(_fingerprint), Field(description="OpenSSH `SHA256:` fingerprint.")
]


class SshPath(Strict):
    """SSH reachability (TCP connect, the `SSH-2.0-` banner) and the server's host keys, read
    through the key exchange (no authentication), pinned by `host_key` or `known_hosts`."""

    kind: Literal["ssh"]
    host: str
    port: Port = 22
    banner: Regex = r"^SSH-2\.0-"
    host_key: Annotated[list[Fingerprint], BeforeValidator(_as_list)] = Field(
        default_factory=list,
        max_length=MAX_PINNED_KEYS,
        description="Pinned fingerprints (`ssh-keygen -lf KEY.pub`); one must match.",
    )
    known_hosts: Path | None = Field(
        default=None, description="A known_hosts file whose keys for host:port are pinned."
    )

    @field_validator("known_hosts")
    @classmethod
    def _readable_known_hosts(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        # host and port are validated first (field order), so the file is read for them.
        if value is not None and "host" in info.data and "port" in info.data:
            read_known_hosts(value, info.data["host"], info.data["port"])
        return value

    @model_validator(mode="after")
    def _one_pin_source(self) -> Self:
        # One source of truth: with both, a stale file could hide behind a current pin.
        if self.host_key and self.known_hosts is not None:
            raise ValueError("give `host_key` or `known_hosts`, not both")
        return self


class TcpPath(Strict):
    """Plain TCP reachability, optionally with a banner."""

    kind: Literal["tcp"]
    host: str
    port: Port
    banner: Regex | None = None


class TlsPath(Strict):
    """A TLS handshake with chain verification and certificate lifetime."""

    kind: Literal["tls"]
    host: str
    port: Port = 443
    server_name: str | None = None
    ca_file: Path | None = None
    min_days: int = Field(default=14, ge=0)


RecordType = Literal["A", "AAAA"]


class DnsPath(Strict):
    """A name resolves to exactly the declared addresses: none missing, none extra."""

    kind: Literal["dns"]
    name: str
    addresses: list[str] = Field(min_length=1, description="Declared A/AAAA addresses.")
    record_types: list[RecordType] = Field(
        default_factory=lambda: list[RecordType](["A", "AAAA"]),
        min_length=1,
        description="Record types whose whole answer set is compared with `addresses`.",
    )
    resolver: str | None = Field(
        default=None, description="`host` or `host:port`; the system resolver when unset."
    )


class PerAddress(Strict):
    """Probe an endpoint on every address its host name resolves to (A and AAAA)."""

    per_address: bool = Field(
        default=False,
        description="Resolve the URL's host and probe each address, Host and SNI kept.",
    )
    min_addresses: int | None = Field(
        default=None,
        ge=1,
        description="Verified when at least this many addresses are; all of them when unset.",
    )
    resolver: str | None = Field(
        default=None,
        description="`host` or `host:port` for `per_address`; the system resolver when unset.",
    )

    @model_validator(mode="after")
    def _needs_per_address(self) -> Self:
        if not self.per_address and (self.min_addresses is not None or self.resolver):
            raise ValueError("min_addresses and resolver apply only with per_address: true")
        return self


class KubernetesApiPath(Strict):
    """The Kubernetes API answers `/version` (or `/livez`)."""

    kind: Literal["kubernetes-api"]
    url: Url
    path: Literal["/version", "/livez", "/readyz"] = "/version"
    token: Secret | None = None
    ca_file: Path | None = None


AccessPathCheck = Annotated[
    SshPath | TcpPath | TlsPath | DnsPath | KubernetesApiPath, Field(discriminator="kind")
]


class ResticBackup(Strict):
    """restic: `snapshots --json --latest 1`, password from a file or variable."""

    kind: Literal["restic"]
    repository: Repository
    password: Secret
    binary: str = "restic"
    host: str | None = None
    tags: list[str] = Field(default_factory=list)


class BorgBackup(Strict):
    """borg: `list --json --last 1` and `info --json`, passphrase from a file or variable."""

    kind: Literal["borg"]
    repository: Repository
    passphrase: Secret | None = None
    binary: str = "borg"


class PgBackRestBackup(Strict):
    """pgBackRest: `info --output=json` for one stanza."""

    kind: Literal["pgbackrest"]
    stanza: str = Field(min_length=1)
    config: Path | None = None
    binary: str = "pgbackrest"


class FilesBackup(Strict):
    """The newest file matching a glob in a backup folder."""

    kind: Literal["files"]
    path: Path
    pattern: str = "*"


class HttpBackup(Strict):
    """A JSON status endpoint with the last backup's timestamp."""

    kind: Literal["http"]
    url: Url
    timestamp_field: str = "last_backup_at"
    size_field: str | None = None
    success_field: str | None = None
    bearer_token: Secret | None = None
    ca_file: Path | None = None


BackupCheck = Annotated[
    ResticBackup | BorgBackup | PgBackRestBackup | FilesBackup | HttpBackup,
    Field(discriminator="kind"),
]


class Schedule(Strict):
    """How often an entity is probed, how long a probe may take, when to re-send unchanged."""

    interval: Duration | None = None
    timeout: Duration | None = None
    heartbeat: Duration | None = None


class Defaults(Strict):
    """Inventory-wide defaults for every entity's schedule."""

    interval: Duration = timedelta(minutes=5)
    timeout: Duration = timedelta(seconds=10)
    heartbeat: Duration = timedelta(hours=1)
    tls_min_days: int = Field(default=14, ge=0)
    tls_renewal_days: int = Field(
        default=30,
        ge=0,
        description="A certificate replaced with more days left than this is drift "
        "(`changed` `tls_fingerprint`); within them it is a renewal (ACME renews at 30).",
    )
    backup_max_age: Duration = timedelta(hours=26)

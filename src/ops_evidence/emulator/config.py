"""Emulator configuration: hub, active manifest, registries, API consumers, seed widgets, faults.

Loaded from a YAML or JSON file (`load_config`) or built in code (`EmulatorConfig()`); the
default reproduces the ops-hub vocabulary of the seeds, read from `ops_evidence.events.vocabulary`.
API keys never live in the file: a consumer names an environment variable or a key file,
and a consumer with neither gets a random key at startup (`resolve_keys`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ops_evidence.errors import ConfigError
from ops_evidence.events.vocabulary import (
    ANNOTATION_CATEGORY,
    EVENT_TYPES,
    HUB_NAME,
    POLICY_SCOPE,
    WIDGET_TYPES,
    aggregate_widget_name,
    widget_type_for,
)

WidgetStatus = Literal["active", "deprecated", "draft"]
ListStyle = Literal[
    "page-pagesize", "page-limit", "offset-limit", "cursor", "next-link", "bare-list"
]
FaultStatus = Literal[500, 502, 503]

# Event types the seeds name for later slices: registered in Inter-Hub's event-type
# registry but not declared by the ops-hub manifest, so `smoke` can prove a rejection.
LATER_EVENT_TYPES = (
    "ops-risk-raised",
    "ops-migration-gate-passed",
    "ops-migration-gate-failed",
)
DEFAULT_POLICY_SCOPE = "internal"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ManifestConfig(_Strict):
    """The hub's active manifest: what a bound API consumer may send."""

    name: str = HUB_NAME
    active: bool = True
    event_types: tuple[str, ...] = tuple(EVENT_TYPES)
    widget_types: tuple[str, ...] = WIDGET_TYPES
    policy_scopes: tuple[str, ...] = (POLICY_SCOPE,)
    annotation_categories: tuple[str, ...] = (ANNOTATION_CATEGORY,)


class RegistryConfig(_Strict):
    """Inter-Hub's type registries (wider than any one manifest)."""

    event_types: tuple[str, ...] = (*EVENT_TYPES, *LATER_EVENT_TYPES)
    widget_types: tuple[str, ...] = WIDGET_TYPES
    policy_scopes: tuple[str, ...] = (DEFAULT_POLICY_SCOPE, POLICY_SCOPE)


class ConsumerConfig(_Strict):
    """One API consumer. The key comes from `key_env`, `key_file`, or is generated."""

    name: str
    key: SecretStr | None = None
    key_env: str | None = None
    key_file: Path | None = None
    allowed: bool = True
    bound_to_manifest: bool = True


class SeedWidget(_Strict):
    """A widget that exists when the emulator starts (and after a reset)."""

    id: str
    name: str
    widget_type: str
    policy_scope: str = POLICY_SCOPE
    status: WidgetStatus = "active"
    view_context: str | None = None


class BurstConfig(_Strict):
    """429 bursts: a request starts one with `rate`; it lasts `length` requests."""

    rate: float = Field(default=0.0, ge=0.0, le=1.0)
    length: int = Field(default=3, ge=1, le=10_000)
    retry_after: int = Field(default=1, ge=0)


class FaultConfig(_Strict):
    """Deterministic fault injection; the same seed and request order give the same faults."""

    seed: int = 0
    error_rates: dict[FaultStatus, float] = Field(default_factory=dict)
    latency_ms: float = Field(default=0.0, ge=0.0, le=60_000)
    latency_jitter_ms: float = Field(default=0.0, ge=0.0, le=60_000)
    burst_429: BurstConfig = BurstConfig()
    reset_before_commit: float = Field(default=0.0, ge=0.0, le=1.0)
    reset_after_commit: float = Field(default=0.0, ge=0.0, le=1.0)
    # Which requests are eligible: "METHOD /path" (exact path). Reads are off by default
    # so tests can inspect and sinks can read back while writes fail.
    targets: tuple[str, ...] = ("POST /api/v2/interaction-events", "POST /progress/")

    @field_validator("error_rates", mode="before")
    @classmethod
    def _int_keys(cls, value: Any) -> Any:
        # JSON object keys are strings; "503" means the status 503.
        if isinstance(value, dict):
            return {
                int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in value.items()
            }
        return value

    def total_rate(self) -> float:
        """Sum of the per-request fault probabilities (must stay ≤ 1)."""
        return (
            sum(self.error_rates.values())
            + self.burst_429.rate
            + self.reset_before_commit
            + self.reset_after_commit
        )

    @model_validator(mode="after")
    def _rates_fit(self) -> FaultConfig:
        if self.total_rate() > 1.0:
            raise ValueError("fault rates add up to more than 1")
        return self


class RateLimitConfig(_Strict):
    """Read rate limit per API consumer: `requests` per fixed `window_seconds`."""

    requests: int = Field(default=600, ge=1)
    window_seconds: float = Field(default=60.0, gt=0)


class ListingConfig(_Strict):
    """How the lists (widgets, interaction events) are paged, ordered and filtered."""

    style: ListStyle = "page-pagesize"
    newest_first: bool = False
    # `idempotencyKey` as a filter on the event list: an extension the seeds never promise.
    key_filter: bool = True
    totals: bool = True
    default_size: int = Field(default=50, ge=1)


# What `emulate --profile` (and `profile:` in the config) selects. `minimal` is what the
# seeds state and nothing more, shaped like an independent hub written from them; the other
# strict profiles vary one thing each (pagination style, totals, order); `friendly` (the
# default, for the demo) keeps the key filter and oldest-first order.
PROFILES: dict[str, ListingConfig] = {
    "friendly": ListingConfig(),
    "minimal": ListingConfig(
        style="page-limit", newest_first=True, key_filter=False, default_size=20
    ),
    "page-size": ListingConfig(newest_first=True, key_filter=False, totals=False, default_size=20),
    "offset": ListingConfig(
        style="offset-limit", newest_first=True, key_filter=False, default_size=20
    ),
    "cursor": ListingConfig(
        style="cursor", newest_first=True, key_filter=False, totals=False, default_size=20
    ),
    "next-link": ListingConfig(
        style="next-link", newest_first=True, key_filter=False, totals=False, default_size=20
    ),
    "bare-list": ListingConfig(
        style="bare-list", newest_first=True, key_filter=False, totals=False, default_size=20
    ),
    "oldest-first": ListingConfig(style="page-limit", key_filter=False, default_size=20),
}
STRICT_PROFILES = tuple(name for name in PROFILES if name != "friendly")


def _default_widgets() -> tuple[SeedWidget, ...]:
    # One aggregate widget per event type, so a mapping by event type works out of the box.
    return tuple(
        SeedWidget(
            id=f"widget-{aggregate_widget_name(t)}",
            name=aggregate_widget_name(t),
            widget_type=widget_type_for(t),
        )
        for t in EVENT_TYPES
    )


class EmulatorConfig(_Strict):
    """Everything the emulator serves; the default is the ops hub of the seeds."""

    hub_id: str = HUB_NAME
    manifest: ManifestConfig = ManifestConfig()
    registry: RegistryConfig = RegistryConfig()
    consumers: tuple[ConsumerConfig, ...] = (ConsumerConfig(name="ops-evidence"),)
    seed_widgets: tuple[SeedWidget, ...] = Field(default_factory=_default_widgets)
    faults: FaultConfig = FaultConfig()
    read_rate_limit: RateLimitConfig = RateLimitConfig()
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    # The real Inter-Hub is not known to dedupe; off, a repeated POST is a second event.
    honour_idempotency_header: bool = False
    # A named set of list behaviours (PROFILES); `listing` overrides it field by field.
    profile: Literal[tuple(PROFILES)] = "friendly"  # type: ignore[valid-type]
    listing: ListingConfig | None = None
    max_page_size: int = Field(default=100, ge=1)
    default_page_size: int | None = Field(default=None, ge=1)
    storage: Path | None = None

    @property
    def lists(self) -> ListingConfig:
        """The list behaviour in force: `listing` if given, else the profile's."""
        chosen = self.listing or PROFILES[self.profile]
        if self.default_page_size is not None:
            chosen = chosen.model_copy(update={"default_size": self.default_page_size})
        return chosen

    @model_validator(mode="after")
    def _unique_consumers(self) -> EmulatorConfig:
        names = [c.name for c in self.consumers]
        if len(names) != len(set(names)):
            raise ValueError("consumer names must be unique")
        return self


def load_config(path: Path) -> EmulatorConfig:
    """Read a YAML or JSON file (JSON is YAML) into a config; ConfigError naming the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read emulator config: {type(exc).__name__}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: emulator config must be a mapping")
    if inline := _inline_keys(raw):
        raise ConfigError(f"{path}: invalid emulator config", problems=inline)
    try:
        return EmulatorConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_input=False)
        ]
        raise ConfigError(f"{path}: invalid emulator config", problems=problems) from None


def _inline_keys(raw: dict[str, Any]) -> list[str]:
    consumers = raw.get("consumers")
    if not isinstance(consumers, list):
        return []
    return [
        f"consumers.{n}.key: give key_env or key_file; keys never live in config files"
        for n, c in enumerate(consumers)
        if isinstance(c, dict) and "key" in c
    ]


def _read_key(consumer: ConsumerConfig) -> SecretStr | None:
    if consumer.key is not None:
        return consumer.key
    if consumer.key_env:
        value = os.environ.get(consumer.key_env, "").strip()
        if not value:
            raise ConfigError(f"consumer {consumer.name}: {consumer.key_env} is unset or empty")
        return SecretStr(value)
    if consumer.key_file and consumer.key_file.exists():
        value = consumer.key_file.read_text(encoding="utf-8").strip()
        if not value:
            raise ConfigError(f"consumer {consumer.name}: key file {consumer.key_file} is empty")
        return SecretStr(value)
    return None


def write_key_file(path: Path, key: SecretStr) -> None:
    """Write a key readable by the owner only (0600), creating the file with that mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key.get_secret_value() + "\n")
    path.chmod(0o600)


def resolve_keys(config: EmulatorConfig) -> tuple[EmulatorConfig, list[ConsumerConfig]]:
    """Fill every consumer's key; returns the config and the consumers whose key was generated.

    A generated key is written to the consumer's `key_file` when it names one (0600).
    """
    consumers: list[ConsumerConfig] = []
    generated: list[ConsumerConfig] = []
    for consumer in config.consumers:
        key = _read_key(consumer)
        if key is None:
            key = SecretStr(secrets.token_urlsafe(32))
            if consumer.key_file is not None:
                write_key_file(consumer.key_file, key)
            generated.append(consumer.model_copy(update={"key": key}))
        consumers.append(consumer.model_copy(update={"key": key}))
    return config.model_copy(update={"consumers": tuple(consumers)}), generated

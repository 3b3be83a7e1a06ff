"""Runtime settings, from the environment first (pydantic-settings).

Every field's `validation_alias` is the environment variable, so a validation error names
the variable the operator has to fix. `OPS_HUB_KEY` is a SecretStr and inputs are hidden
from error messages.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ops_evidence.config.durations import Duration
from ops_evidence.config.widget_mapping import WidgetMapping, parse_widget_mapping
from ops_evidence.errors import ConfigError
from ops_evidence.redact import register_secret

SinkName = Literal["auto", "inter-hub", "state-hub-progress", "stdout"]


def _empty_is_none(value: Any) -> Any:
    # The k8s runtime ConfigMap ships these variables present but empty until go-live.
    if isinstance(value, str) and not value.strip():
        return None
    return value


# RFC 9110 token: what a header name, and an auth scheme, may be made of.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _key(value: Any) -> Any:
    """Surrounding whitespace dropped (a Secret made with `--from-file` keeps the file's final
    newline); anything else that cannot travel in a header is refused, without echoing it."""
    value = _empty_is_none(value)
    if isinstance(value, str):
        value = value.strip()
        if not all(0x21 <= ord(c) <= 0x7E for c in value):
            raise ValueError("contains spaces or control characters; a key is one printable token")
    return value


def _token(value: Any) -> Any:
    if isinstance(value, str) and not _TOKEN.fullmatch(value):
        raise ValueError("must be an HTTP token (letters, digits and !#$%&'*+.^_`|~-, no spaces)")
    return value


def _scheme(value: Any) -> Any:
    return value if value == "" else _token(value)


def _mapping(value: Any) -> Any:
    value = _empty_is_none(value)
    if isinstance(value, str):
        return parse_widget_mapping(value)
    return value


def _listen(value: Any) -> Any:
    if isinstance(value, str):
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:9108 or [::1]:9108")
    return value


class Settings(BaseSettings):
    """ops-evidence settings; see the README's configuration table."""

    model_config = SettingsConfigDict(
        hide_input_in_errors=True,
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        case_sensitive=True,
    )

    inter_hub_url: Annotated[AnyHttpUrl | None, BeforeValidator(_empty_is_none)] = Field(
        default=None,
        validation_alias="INTER_HUB_URL",
        description="Inter-Hub base URL (the API is under /api/v2). Empty: Inter-Hub sink off.",
    )
    ops_hub_key: Annotated[SecretStr | None, BeforeValidator(_key)] = Field(
        default=None,
        validation_alias="OPS_HUB_KEY",
        description="Inter-Hub API key (secret; from a Secret, never Git).",
    )
    widget_mapping: Annotated[WidgetMapping | None, NoDecode, BeforeValidator(_mapping)] = Field(
        default=None,
        validation_alias="OPS_HUB_WIDGET_MAPPING",
        description="Widget mapping: inline JSON (starts with `{`) or a path to a JSON file.",
    )
    state_hub_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8000"),
        validation_alias="STATE_HUB_URL",
        description="State Hub base URL for the fallback sink.",
    )
    inventory: Path = Field(
        default=Path("inventory.yaml"),
        validation_alias="OPS_EVIDENCE_INVENTORY",
        description="Path to the inventory YAML file.",
    )
    state_dir: Path = Field(
        default=Path("./state"),
        validation_alias="OPS_EVIDENCE_STATE_DIR",
        description="Directory for the outbox and probe state (a PVC in Kubernetes).",
    )
    sink: SinkName = Field(
        default="auto",
        validation_alias="OPS_EVIDENCE_SINK",
        description=(
            "`auto` (Inter-Hub when configured, else State Hub), or force one: `inter-hub`, "
            "`state-hub-progress`, `stdout`."
        ),
    )
    listen: Annotated[str, BeforeValidator(_listen)] = Field(
        default="127.0.0.1:9108",
        validation_alias="OPS_EVIDENCE_LISTEN",
        description="HOST:PORT of the health/metrics/status listener.",
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        validation_alias="OPS_EVIDENCE_LOG_FORMAT",
        description="`auto`: console on a terminal, JSON otherwise.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", validation_alias="OPS_EVIDENCE_LOG_LEVEL", description="Log level."
    )
    inter_hub_submit: bool = Field(
        default=True,
        validation_alias="OPS_EVIDENCE_INTER_HUB_SUBMIT",
        description="Submit to Inter-Hub when configured; `false` defers to State Hub.",
    )
    inter_hub_auth_header: Annotated[str, AfterValidator(_token)] = Field(
        default="Authorization",
        validation_alias="OPS_EVIDENCE_INTER_HUB_AUTH_HEADER",
        description="Header that carries the key.",
    )
    inter_hub_auth_scheme: Annotated[str, AfterValidator(_scheme)] = Field(
        default="Bearer",
        validation_alias="OPS_EVIDENCE_INTER_HUB_AUTH_SCHEME",
        description="Scheme before the key in that header; empty for the bare key.",
    )
    allow_insecure_http: bool = Field(
        default=False,
        validation_alias="OPS_EVIDENCE_ALLOW_INSECURE_HTTP",
        description="Allow sending the key over http:// to a non-loopback host.",
    )
    outbox_max_rows: int = Field(
        default=100_000,
        ge=100,
        validation_alias="OPS_EVIDENCE_OUTBOX_MAX_ROWS",
        description=(
            "Outbox size cap in events; at the cap the oldest finished events make room, and "
            "new events are refused (and counted) only when due deliveries fill it."
        ),
    )
    outbox_retention: Duration = Field(
        default=timedelta(days=7),
        validation_alias="OPS_EVIDENCE_OUTBOX_RETENTION",
        description="How long finished events (every delivery final) are kept, for replay.",
    )
    http_timeout: Duration = Field(
        default=timedelta(seconds=10),
        validation_alias="OPS_EVIDENCE_HTTP_TIMEOUT",
        description="Timeout for each request to Inter-Hub or State Hub.",
    )
    retry_base: Duration = Field(
        default=timedelta(seconds=1),
        validation_alias="OPS_EVIDENCE_RETRY_BASE",
        description="First retry ceiling; doubles per attempt (full jitter).",
    )
    retry_cap: Duration = Field(
        default=timedelta(minutes=5),
        validation_alias="OPS_EVIDENCE_RETRY_CAP",
        description="Largest backoff between two attempts (Retry-After may ask for more).",
    )
    retry_horizon: Duration = Field(
        default=timedelta(hours=72),
        validation_alias="OPS_EVIDENCE_RETRY_HORIZON",
        description="Give up (`dead`, kept and replayable) after failing this long.",
    )

    @field_validator("ops_hub_key")
    @classmethod
    def _register(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            register_secret(value.get_secret_value())
        return value

    def inter_hub_missing(self) -> list[str]:
        """Which of the three Inter-Hub variables are not set (empty: fully configured)."""
        missing = []
        if self.inter_hub_url is None:
            missing.append("INTER_HUB_URL")
        if self.ops_hub_key is None:
            missing.append("OPS_HUB_KEY")
        if self.widget_mapping is None or self.widget_mapping.is_empty():
            missing.append("OPS_HUB_WIDGET_MAPPING")
        return missing


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    alias = Settings.model_fields[field].validation_alias
    return str(alias) if alias else field.upper()


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; ConfigError with one line per bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            variable = str(err["loc"][0]) if err["loc"] else "settings"
            if variable in Settings.model_fields:
                variable = env_name(variable)
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{variable}: {message}")
        raise ConfigError("invalid settings", problems=problems) from None

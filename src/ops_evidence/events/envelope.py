"""The envelope every evidence event carries, whatever its type."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator


def new_run_id(now: datetime | None = None) -> str:
    """A run id unique per probe execution, sortable by time.

    Short dotted segments on purpose: a 32-character hex id would look like a token to the
    redactor and be masked in every log line.
    """
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}.{now.microsecond:06d}.{secrets.token_hex(4)}"


def idempotency_key(run_id: str, context_key: str, event_type: str) -> str:
    """`run_id + context_key + event_type`, the key from the seeds, `|`-separated."""
    return f"{run_id}|{context_key}|{event_type}"


class Attributes(BaseModel):
    """Attributes every event type shares: the verdict and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verified: bool = Field(description="True when the check matched what was declared.")
    reason: str | None = Field(
        default=None,
        description="Short machine-readable reason when not verified, e.g. `timeout`.",
        max_length=64,
    )
    message: str | None = Field(
        default=None, description="One human-readable sentence about the result.", max_length=500
    )
    environment: str | None = Field(default=None, description="Inventory environment id.")

    @property
    def failed(self) -> bool:
        """The probe failed: what `run --once` exits 1 for and operators are told about."""
        return not self.verified

    @property
    def verdict(self) -> str:
        """`verified`, `failed`, or `status` (not verified, yet no failure: a gate's status)."""
        return "verified" if self.verified else "failed" if self.failed else "status"


class EvidenceEvent(BaseModel):
    """Envelope: type, entity, run, time and idempotency key, plus typed attributes.

    Subclasses pin `event_type` to a Literal and `attributes` to their own model.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    EVENT_TYPE: ClassVar[str] = ""
    # The attributes a valid event of the type needs beyond the shared ones: `smoke` builds
    # its sample events from them, so a new type brings its sample with its model.
    SAMPLE_ATTRIBUTES: ClassVar[Mapping[str, Any]] = {}

    event_type: str
    context_key: str = Field(
        pattern=r"^[a-z][a-z-]*:[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="The inventory entity, e.g. `endpoint:gitea-registry`.",
    )
    run_id: str = Field(min_length=1, max_length=64, description="Unique per probe execution.")
    observed_at: AwareDatetime = Field(description="When the probe observed the result (UTC).")
    idempotency_key: str = Field(description="run_id|context_key|event_type.")
    attributes: Attributes

    @field_validator("observed_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _key_matches(self) -> Self:
        expected = idempotency_key(self.run_id, self.context_key, self.event_type)
        if self.idempotency_key != expected:
            raise ValueError(f"idempotency_key must be {expected!r}")
        return self

    @classmethod
    def build(
        cls,
        *,
        context_key: str,
        attributes: Any,
        run_id: str | None = None,
        observed_at: datetime | None = None,
    ) -> Self:
        """Construct an event with its envelope filled in consistently."""
        run_id = run_id or new_run_id()
        return cls(
            event_type=cls.EVENT_TYPE,
            context_key=context_key,
            run_id=run_id,
            observed_at=observed_at or datetime.now(UTC),
            idempotency_key=idempotency_key(run_id, context_key, cls.EVENT_TYPE),
            attributes=attributes,
        )

"""Rows of the outbox: an event, and one delivery per (event, sink)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

Status = Literal[
    "pending",
    "retrying",
    "delivered",
    "duplicate",
    "missing_inter_hub_config",
    "missing_widget_mapping",
    "inter_hub_sink_deferred",
    "rejected",
    "dead",
]

# Statuses the dispatcher still works on; everything else is final until replayed.
ACTIVE: Final[frozenset[str]] = frozenset({"pending", "retrying", "inter_hub_sink_deferred"})
DONE: Final[frozenset[str]] = frozenset({"delivered", "duplicate"})
REPLAYABLE: Final[frozenset[str]] = frozenset(
    {"dead", "rejected", "missing_inter_hub_config", "missing_widget_mapping",
     "inter_hub_sink_deferred", "retrying"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as committed: its key, type, entity and canonical JSON."""

    key: str
    event_type: str
    context_key: str
    created_at: float
    event_json: bytes


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A delivery to create: which sink, the exact body bytes, and its first status."""

    sink: str
    body: bytes | None
    status: Status = "pending"
    widget_id: str | None = None
    reason: str | None = None
    next_attempt_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One (event, sink) delivery as stored."""

    key: str
    sink: str
    status: Status
    attempts: int
    next_attempt_at: float
    body: bytes | None
    widget_id: str | None
    event_type: str
    context_key: str
    created_at: float
    updated_at: float
    last_error: str | None = None
    last_http_status: int | None = None
    # True while a request may have reached the server without its answer being recorded:
    # the next attempt must read back before posting again.
    ambiguous: bool = False
    # When it was first claimed for sending (None before): the read-back looks no further
    # back than this, as the event cannot have been stored earlier.
    first_attempt_at: float | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """What the router decided after one attempt; the outbox records it atomically."""

    key: str
    sink: str
    status: Status
    next_attempt_at: float = 0.0
    error: str | None = None
    http_status: int | None = None
    ambiguous: bool = False
    count_attempt: bool = True
    fallback: NewDelivery | None = field(default=None)


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts per (sink, status), total events, and the oldest pending delivery's time."""

    by_sink_status: dict[tuple[str, str], int]
    events: int
    oldest_pending_at: float | None
    refused_full: int

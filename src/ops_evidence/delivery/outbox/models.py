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

# The lifecycle of a delivery row (docs/operations.md, "The outbox's lifecycle"):
# - DUE: work the dispatcher will attempt (now or after a backoff); its event is unfinished.
# - DEFERRED: Inter-Hub cannot take it yet (submission off, type undeclared); re-checked
#   hourly, and its State Hub copy is made at once. It keeps its event for the retention
#   (so a manifest fix still reaches Inter-Hub) and counts as finished after it; at the cap
#   it yields to new evidence once its State Hub copy has landed.
# - FINAL: nothing more happens until an operator replays it; an event whose rows are all
#   final is finished, kept for the retention (for replay), then pruned.
# An event has *landed* when one of its rows is DONE (delivered, duplicate): some hub holds
# its evidence. Only landed events make room at the cap; a finished event that landed
# nowhere (e.g. Inter-Hub rejected, State Hub dead) is kept until the retention prunes it
# and counts like unfinished work at the cap, so it can make the outbox refuse, loudly.
DUE: Final[frozenset[str]] = frozenset({"pending", "retrying"})
DEFERRED: Final = "inter_hub_sink_deferred"
FINAL: Final[frozenset[str]] = frozenset(
    {
        "delivered",
        "duplicate",
        "rejected",
        "dead",
        "missing_inter_hub_config",
        "missing_widget_mapping",
    }
)
# Statuses the dispatcher still works on; everything else is final until replayed.
ACTIVE: Final[frozenset[str]] = DUE | {DEFERRED}
# The statuses that mean the sink holds the evidence (the event has landed).
DONE: Final[frozenset[str]] = frozenset({"delivered", "duplicate"})
# The backlog statuses in the order `outbox stats`, metrics and the status page show them.
BACKLOG_STATUSES: Final[tuple[str, ...]] = ("pending", "retrying", DEFERRED)
REPLAYABLE: Final[frozenset[str]] = frozenset(
    {
        "dead",
        "rejected",
        "missing_inter_hub_config",
        "missing_widget_mapping",
        "inter_hub_sink_deferred",
        "retrying",
    }
)


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
    # An Inter-Hub row's State Hub fallback seed (`events.wire.seed_bytes`): the fallback
    # decided after an attempt is built from the row, not from the event reloaded.
    fallback_seed: bytes | None = None


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
    # See NewDelivery.fallback_seed (None on other sinks' rows).
    fallback_seed: bytes | None = None


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
    """Counts per (sink, status), total events, refusals, and the oldest due delivery.

    `oldest_pending_at` is the creation time of the oldest row due to be attempted (pending
    or retrying); deferred rows are left out, as nothing retries them until a re-check.
    """

    by_sink_status: dict[tuple[str, str], int]
    events: int
    oldest_pending_at: float | None
    refused_full: int

    def backlog(self) -> dict[str, dict[str, int]]:
        """Per sink, the rows not yet final: pending, retrying and deferred, each apart."""
        sinks = sorted({sink for sink, _ in self.by_sink_status})
        return {
            sink: {s: self.by_sink_status.get((sink, s), 0) for s in BACKLOG_STATUSES}
            for sink in sinks
        }

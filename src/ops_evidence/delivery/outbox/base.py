"""The outbox seam: a durable queue of events and their per-sink deliveries.

Implementations: `SqliteOutbox` (the product) and `MemoryOutbox` (its twin for tests);
one contract suite (`tests/delivery/outbox/test_contract.py`) runs against both. Another process
may write the same SQLite file (`outbox replay`): `changed_elsewhere` tells a running
dispatcher so, and the rows that process made due are picked up.

Life of a delivery: `enqueue` commits the event with its first deliveries *before* anything
is sent; the dispatcher `claim`s due deliveries under a lease (marking inter-hub ones
ambiguous, as a request may go out); `record` stores the attempt's result — and any fallback
delivery it implies — in one transaction. `reset_leases` on start makes work that was in
flight at a crash due again.

Life of an event (models.py names the statuses): it is *finished* once every row is final
(delivered, duplicate, rejected, dead, missing_inter_hub_config, missing_widget_mapping);
pending and retrying rows are due work; an inter_hub_sink_deferred row holds its event for
the retention from its creation (its evidence is on State Hub). An event has *landed* once
one of its rows is delivered or duplicate. `prune` deletes finished events after the
retention; at the cap `enqueue` first deletes the oldest landed finished (then landed held)
events, so only due work and evidence that landed nowhere filling the outbox refuse new
evidence (an event that landed nowhere is left to the retention, the window to replay it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from ops_evidence.delivery.outbox.models import Delivery, NewDelivery, Result, Stats, StoredEvent


class Outbox(ABC):
    """Durable store of events and per-sink delivery state."""

    @abstractmethod
    async def open(self) -> None:
        """Create or migrate storage; reset leases left by a previous process."""

    @abstractmethod
    async def close(self) -> None:
        """Flush and release storage."""

    @abstractmethod
    async def enqueue(self, event: StoredEvent, deliveries: Sequence[NewDelivery]) -> bool:
        """Commit an event and its deliveries; False if the key already exists.

        At the cap, first deletes the oldest finished events (whatever their age), failing
        those the oldest held (deferred-only) ones; raises OutboxFullError (and counts it)
        only when events with due rows fill the outbox.
        """

    @abstractmethod
    async def claim(
        self, sink: str, now: float, limit: int, lease_seconds: float
    ) -> list[Delivery]:
        """Lease up to `limit` due deliveries of `sink`, oldest due first."""

    @abstractmethod
    async def record(self, results: Sequence[Result], now: float) -> None:
        """Store attempt results (and fallback deliveries) atomically; releases leases."""

    @abstractmethod
    async def next_due(self, sink: str) -> float | None:
        """When the next delivery of `sink` becomes due (None: nothing active)."""

    @abstractmethod
    async def changed_elsewhere(self) -> bool:
        """True if another connection committed since the last call (or since `open`).

        Commits through this outbox itself do not count. Cheap enough for an idle timer.
        """

    @abstractmethod
    async def reset_leases(self) -> int:
        """Release every lease (on start): in-flight work becomes due again."""

    @abstractmethod
    async def prune(self, delivered_before: float) -> int:
        """Delete finished events whose rows were all last updated before the cut-off (held,
        deferred-only events: created before it); returns how many."""

    @abstractmethod
    async def stats(self) -> Stats:
        """Counts for `outbox stats`, metrics and the status page (oldest due: pending or
        retrying rows only)."""

    @abstractmethod
    async def deliveries(
        self,
        *,
        status: str | None = None,
        sink: str | None = None,
        key: str | None = None,
        limit: int = 100,
        after: tuple[str, str] | None = None,
    ) -> list[Delivery]:
        """Deliveries filtered by status/sink/key, ordered by (key, sink), after a cursor."""

    @abstractmethod
    async def event(self, key: str) -> StoredEvent | None:
        """The stored event of a key."""

    @abstractmethod
    async def replay(
        self,
        keys_and_sinks: Sequence[tuple[str, str]],
        bodies: dict[tuple[str, str], tuple[bytes, str]],
        now: float,
    ) -> int:
        """Make final deliveries pending again; `bodies` gives a new (body, widget) per row."""

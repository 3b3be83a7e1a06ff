"""In-memory outbox: the SQLite outbox's twin for tests and `--dry-run`; not durable."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ops_evidence.delivery.outbox.base import Outbox
from ops_evidence.delivery.outbox.models import (
    ACTIVE,
    DEFERRED,
    DONE,
    DUE,
    REPLAYABLE,
    Delivery,
    NewDelivery,
    Result,
    Stats,
    StoredEvent,
)
from ops_evidence.delivery.outbox.sqlite_lifecycle import full_message, room_to_make
from ops_evidence.errors import OutboxFullError


class MemoryOutbox(Outbox):
    """Dict-backed outbox with the same semantics as SqliteOutbox (lifecycle included)."""

    def __init__(self, max_rows: int = 100_000) -> None:
        self.max_rows = max_rows
        self._events: dict[str, StoredEvent] = {}
        self._deliveries: dict[tuple[str, str], Delivery] = {}
        self._leases: dict[tuple[str, str], float] = {}
        self._refused = 0

    async def open(self) -> None:
        """Nothing to create; leases from 'before' do not exist."""
        self._leases.clear()

    async def close(self) -> None:
        """Nothing to release."""

    async def enqueue(self, event: StoredEvent, deliveries: Sequence[NewDelivery]) -> bool:
        """Add the event and deliveries unless the key exists; at the cap, delete the oldest
        landed, finished events first and refuse only when due work and evidence that
        landed nowhere fill the outbox."""
        if event.key in self._events:
            return False
        if len(self._events) >= self.max_rows and not self._make_room():
            self._refused += 1
            raise OutboxFullError(full_message(self.max_rows))
        self._events[event.key] = event
        for new in deliveries:
            self._add(event, new, event.created_at)
        return True

    def _add(self, event: StoredEvent, new: NewDelivery, now: float) -> None:
        if (event.key, new.sink) in self._deliveries:
            return
        self._deliveries[(event.key, new.sink)] = Delivery(
            key=event.key,
            sink=new.sink,
            status=new.status,
            attempts=0,
            next_attempt_at=new.next_attempt_at,
            body=new.body,
            widget_id=new.widget_id,
            event_type=event.event_type,
            context_key=event.context_key,
            created_at=event.created_at,
            updated_at=now,
            last_error=new.reason,
            fallback_seed=new.fallback_seed,
        )

    async def claim(
        self, sink: str, now: float, limit: int, lease_seconds: float
    ) -> list[Delivery]:
        """Due, unleased, active deliveries of `sink`, oldest due first; leased."""
        due = sorted(
            (
                d
                for d in self._deliveries.values()
                if d.sink == sink
                and d.status in ACTIVE
                and d.next_attempt_at <= now
                and self._leases.get((d.key, d.sink), 0.0) <= now
            ),
            key=lambda d: (d.next_attempt_at, d.key),
        )[:limit]
        claimed = []
        for delivery in due:
            ident = (delivery.key, delivery.sink)
            self._leases[ident] = now + lease_seconds
            ambiguous = delivery.ambiguous or sink == "inter-hub"
            first = delivery.first_attempt_at or now
            self._deliveries[ident] = dataclasses.replace(
                delivery, ambiguous=ambiguous, first_attempt_at=first
            )
            claimed.append(dataclasses.replace(delivery, first_attempt_at=first))
        return claimed

    async def record(self, results: Sequence[Result], now: float) -> None:
        """Apply each result; add fallback deliveries."""
        for result in results:
            ident = (result.key, result.sink)
            current = self._deliveries.get(ident)
            if current is None:
                continue
            self._leases.pop(ident, None)
            self._deliveries[ident] = dataclasses.replace(
                current,
                status=result.status,
                attempts=current.attempts + (1 if result.count_attempt else 0),
                next_attempt_at=result.next_attempt_at,
                last_error=result.error,
                last_http_status=result.http_status,
                ambiguous=result.ambiguous,
                updated_at=now,
            )
            if result.fallback is not None:
                self._add(self._events[result.key], result.fallback, now)

    async def next_due(self, sink: str) -> float | None:
        """Earliest next_attempt_at (or lease expiry) among active deliveries of `sink`."""
        times = [
            max(d.next_attempt_at, self._leases.get((d.key, d.sink), 0.0))
            for d in self._deliveries.values()
            if d.sink == sink and d.status in ACTIVE
        ]
        return min(times, default=None)

    async def reset_leases(self) -> int:
        """Drop all leases."""
        count = len(self._leases)
        self._leases.clear()
        return count

    async def prune(self, delivered_before: float) -> int:
        """Remove finished events last updated before the cut-off (deferred-only ones once
        created before it)."""
        cutoff = delivered_before

        def keeps(d: Delivery) -> bool:
            return d.status in DUE or (d.status != DEFERRED and d.updated_at >= cutoff)

        rows = self._rows_by_key()
        doomed = [
            e.key
            for e in self._oldest_first()
            if e.created_at < cutoff and not any(keeps(d) for d in rows.get(e.key, []))
        ]
        self._delete(doomed)
        return len(doomed)

    def _make_room(self) -> bool:
        """The oldest landed finished (else landed deferred-only) events make room; False if
        none can (evidence that landed nowhere is left to the retention)."""
        want = room_to_make(len(self._events), self.max_rows)
        rows = self._rows_by_key()
        for unfinished in (ACTIVE, DUE):
            doomed = [
                e.key
                for e in self._oldest_first()
                if not any(d.status in unfinished for d in rows.get(e.key, []))
                and any(d.status in DONE for d in rows.get(e.key, []))
            ][:want]
            if doomed:
                self._delete(doomed)
                return True
        return False

    def _oldest_first(self) -> list[StoredEvent]:
        # Stable: events created at the same time stay in the order they were enqueued.
        return sorted(self._events.values(), key=lambda e: e.created_at)

    def _rows_by_key(self) -> dict[str, list[Delivery]]:
        rows: dict[str, list[Delivery]] = {}
        for d in self._deliveries.values():
            rows.setdefault(d.key, []).append(d)
        return rows

    def _delete(self, keys: list[str]) -> None:
        doomed = set(keys)
        for key in doomed:
            del self._events[key]
        for ident in [i for i in self._deliveries if i[0] in doomed]:
            del self._deliveries[ident]
            self._leases.pop(ident, None)

    async def stats(self) -> Stats:
        """Counts per (sink, status) and the oldest due (pending, retrying) delivery."""
        counts: dict[tuple[str, str], int] = {}
        oldest: float | None = None
        for d in self._deliveries.values():
            counts[(d.sink, d.status)] = counts.get((d.sink, d.status), 0) + 1
            if d.status in DUE:
                oldest = d.created_at if oldest is None else min(oldest, d.created_at)
        return Stats(counts, len(self._events), oldest, self._refused)

    async def deliveries(
        self,
        *,
        status: str | None = None,
        sink: str | None = None,
        key: str | None = None,
        limit: int = 100,
        after: tuple[str, str] | None = None,
    ) -> list[Delivery]:
        """Filtered deliveries in (key, sink) order."""
        rows = sorted(self._deliveries.values(), key=lambda d: (d.key, d.sink))
        return [
            d
            for d in rows
            if (status is None or d.status == status)
            and (sink is None or d.sink == sink)
            and (key is None or d.key == key)
            and (after is None or (d.key, d.sink) > after)
        ][:limit]

    async def event(self, key: str) -> StoredEvent | None:
        """The stored event."""
        return self._events.get(key)

    async def replay(
        self,
        keys_and_sinks: Sequence[tuple[str, str]],
        bodies: dict[tuple[str, str], tuple[bytes, str]],
        now: float,
    ) -> int:
        """Set replayable deliveries back to pending, due now."""
        count = 0
        for ident in keys_and_sinks:
            current = self._deliveries.get(ident)
            if current is None or current.status not in REPLAYABLE:
                continue
            body, widget = bodies.get(ident, (current.body or b"", current.widget_id or ""))
            self._deliveries[ident] = dataclasses.replace(
                current,
                status="pending",
                next_attempt_at=now,
                updated_at=now,
                body=body or None,
                widget_id=widget or None,
            )
            count += 1
        return count

    async def changed_elsewhere(self) -> bool:
        """Always False: no other process can reach this outbox."""
        return False

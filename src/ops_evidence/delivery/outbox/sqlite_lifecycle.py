"""The SQLite outbox's lifecycle: pruning after the retention, and making room at the cap.

An event is *finished* when none of its rows is active (models.py explains each status).
A deferred Inter-Hub row keeps its event unfinished for the retention, counted from the
event's creation (each hourly re-check updates the row, so its last update never ages);
after that the event counts as finished, its evidence being on State Hub.

An event has *landed* when one of its rows is delivered or duplicate: some hub holds its
evidence. At the cap, room is made from landed history rather than by refusing: the oldest
landed, finished events go first, whatever their age; failing those, the oldest landed
events whose only unfinished rows are deferred. An event that landed nowhere (e.g. Inter-Hub
`rejected` and State Hub `dead`) is never deleted to make room: only the retention prunes it,
the operator's window to replay it. Events with due rows and events that landed nowhere
count as unfinished work at the cap; when they alone fill the outbox, new evidence is
refused (counted and logged), never silently made room for.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ops_evidence.delivery.outbox.schema import ACTIVE_SQL, DONE_SQL, DUE_SQL

PRUNE_BATCH = 10_000

# A row that keeps its event at the cut-off: due work, or a final row updated since.
_KEEPS_AT_CUTOFF = (
    f"d.status IN {DUE_SQL} OR (d.status <> 'inter_hub_sink_deferred' AND d.updated_at >= ?)"
)


def prunable(conn: sqlite3.Connection, cutoff: float, limit: int) -> list[tuple[str]]:
    """Keys of events finished and untouched since `cutoff`, oldest first."""
    # Walks events_created only up to the cut-off; an event created later cannot qualify.
    rows: list[tuple[str]] = conn.execute(
        "SELECT e.key FROM events e WHERE e.created_at < ? AND NOT EXISTS ("
        f"SELECT 1 FROM deliveries d WHERE d.key = e.key AND ({_KEEPS_AT_CUTOFF})) "
        "ORDER BY e.created_at LIMIT ?",
        (cutoff, cutoff, limit),
    ).fetchall()
    return rows


def _oldest_landed_without(conn: sqlite3.Connection, statuses: str, limit: int) -> list[tuple[str]]:
    """Keys of the oldest landed events that have no row in `statuses` (an SQL list)."""
    rows: list[tuple[str]] = conn.execute(
        "SELECT e.key FROM events e WHERE NOT EXISTS ("
        f"SELECT 1 FROM deliveries d WHERE d.key = e.key AND d.status IN {statuses}) "
        f"AND EXISTS (SELECT 1 FROM deliveries l WHERE l.key = e.key AND l.status IN {DONE_SQL}) "
        "ORDER BY e.created_at LIMIT ?",
        (limit,),
    ).fetchall()
    return rows


def room_to_make(count: int, max_rows: int) -> int:
    """How many events to free at the cap: the excess plus 1% of the cap (at least one), so
    that the costly scan runs once per that many events rather than at every enqueue."""
    return min(PRUNE_BATCH, count - max_rows + max(1, max_rows // 100))


def make_room(conn: sqlite3.Connection, count: int, max_rows: int) -> int:
    """At or over the cap: delete the oldest landed finished (else landed deferred) events.

    Returns how many were deleted (0: only due work and evidence that landed nowhere left).
    """
    want = room_to_make(count, max_rows)
    keys = _oldest_landed_without(conn, ACTIVE_SQL, want) or _oldest_landed_without(
        conn, DUE_SQL, want
    )
    delete_events(conn, keys)
    return len(keys)


def delete_events(conn: sqlite3.Connection, keys: Sequence[tuple[str]]) -> None:
    """Delete events (their deliveries cascade) and keep the event counter in step."""
    conn.executemany("DELETE FROM events WHERE key = ?", keys)
    conn.execute("UPDATE counters SET value = value - ? WHERE name = 'events'", (len(keys),))


def full_message(max_rows: int) -> str:
    """The refusal's one line (both outboxes): what fills the outbox, and what to do."""
    return (
        f"outbox full ({max_rows} events, all with deliveries still due or with evidence "
        "that reached no hub); event refused"
    )

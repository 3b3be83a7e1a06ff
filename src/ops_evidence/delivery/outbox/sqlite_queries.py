"""SQL helpers shared by the SQLite outbox's operations (run on its DB thread)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ops_evidence.delivery.outbox.models import REPLAYABLE, Delivery, NewDelivery, StoredEvent

DELIVERY_COLUMNS = (
    "key, sink, status, attempts, next_attempt_at, body, widget_id, event_type, context_key, "
    "created_at, updated_at, last_error, last_http_status, ambiguous, first_attempt_at, "
    "fallback_seed"
)


def row_to_delivery(row: Sequence[Any]) -> Delivery:
    """A `SELECT {DELIVERY_COLUMNS}` row as a Delivery."""
    return Delivery(
        key=row[0],
        sink=row[1],
        status=row[2],
        attempts=row[3],
        next_attempt_at=row[4],
        body=None if row[5] is None else bytes(row[5]),
        widget_id=row[6],
        event_type=row[7],
        context_key=row[8],
        created_at=row[9],
        updated_at=row[10],
        last_error=row[11],
        last_http_status=row[12],
        ambiguous=bool(row[13]),
        first_attempt_at=row[14],
        fallback_seed=None if row[15] is None else bytes(row[15]),
    )


def insert_delivery(
    conn: sqlite3.Connection, event: StoredEvent, new: NewDelivery, now: float
) -> None:
    """Insert a delivery unless (key, sink) exists."""
    conn.execute(
        "INSERT OR IGNORE INTO deliveries (key, sink, status, next_attempt_at, body, widget_id, "
        "last_error, event_type, context_key, created_at, updated_at, fallback_seed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.key,
            new.sink,
            new.status,
            new.next_attempt_at,
            new.body,
            new.widget_id,
            new.reason,
            event.event_type,
            event.context_key,
            event.created_at,
            now,
            new.fallback_seed,
        ),
    )


def select_deliveries(
    conn: sqlite3.Connection,
    *,
    status: str | None,
    sink: str | None,
    key: str | None,
    limit: int,
    after: tuple[str, str] | None,
) -> list[Delivery]:
    """Deliveries matching the filters, in (key, sink) order after a cursor."""
    clauses, params = [], []
    for column, value in (("status", status), ("sink", sink), ("key", key)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if after is not None:
        clauses.append("(key, sink) > (?, ?)")
        params.extend(after)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries {where} ORDER BY key, sink LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [row_to_delivery(r) for r in rows]


def replay_rows(
    conn: sqlite3.Connection,
    keys_and_sinks: Sequence[tuple[str, str]],
    bodies: dict[tuple[str, str], tuple[bytes, str]],
    now: float,
) -> int:
    """Set replayable deliveries to pending (with a new body where given).

    A lease is kept (as the memory twin keeps it): a replayed row still in flight in a
    running service must not be claimed and sent a second time meanwhile.
    """
    statuses = tuple(sorted(REPLAYABLE))
    marks = ", ".join("?" * len(statuses))
    count = 0
    for key, sink in keys_and_sinks:
        body, widget = bodies.get((key, sink), (None, None))
        count += conn.execute(
            f"UPDATE deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ?, "
            f"body = COALESCE(?, body), widget_id = COALESCE(?, widget_id) "
            f"WHERE key = ? AND sink = ? "
            f"AND status IN ({marks})",
            (now, now, body, widget, key, sink, *statuses),
        ).rowcount
    return count

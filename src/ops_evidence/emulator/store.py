"""What the emulator has received: widgets (with versions), interaction events, progress.

One SQLite implementation serves both modes: `:memory:` by default, or a file so soak tests
survive an emulator restart. Records are stored as the JSON documents the API returns,
plus the few columns that lists filter on. A lock makes each call atomic, because tests
may read the store from another thread than the server's event loop.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Window:
    """Which slice of a list to return: skip `offset` rows (after `after_seq`, if given)."""

    offset: int
    limit: int
    newest_first: bool = False
    after_seq: int | None = None  # keyset cursor: rows past this one in the list's order


@dataclass(frozen=True, slots=True)
class Listing:
    """A slice of a list: its records, the total, the last row's seq and whether more follow."""

    items: list[Record]
    total: int
    last_seq: int | None
    more: bool


_SCHEMA = """
CREATE TABLE IF NOT EXISTS widgets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS widget_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, widget_id TEXT NOT NULL, version INTEGER NOT NULL,
    doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, widget_id TEXT NOT NULL,
    event_type TEXT NOT NULL, idempotency_key TEXT, header_key TEXT, consumer TEXT NOT NULL,
    doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_widget ON events (widget_id, event_type);
CREATE INDEX IF NOT EXISTS events_by_key ON events (idempotency_key);
CREATE TABLE IF NOT EXISTS progress (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL,
    idempotency_key TEXT UNIQUE, doc TEXT NOT NULL);
"""


class Store:
    """Thread-safe record store over one SQLite connection."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
        )
        if path:
            # A soak test kills the emulator too: WAL with FULL sync keeps every answered write.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Record]:
        with self._lock:
            return [json.loads(row[0]) for row in self._db.execute(sql, args)]

    def _scalar(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self._lock:
            value: int = self._db.execute(sql, args).fetchone()[0]
            return value

    # Widgets -------------------------------------------------------------------------------

    def add_widget(self, widget: Record, version: Record) -> None:
        """Store a widget and its initial version in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO widgets (id, doc) VALUES (?, ?)", (widget["id"], _dump(widget))
                )
                self._db.execute(
                    "INSERT INTO widget_versions (widget_id, version, doc) VALUES (?, ?, ?)",
                    (widget["id"], version["version"], _dump(version)),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get_widget(self, widget_id: str) -> Record | None:
        """One widget by id, or None."""
        rows = self._rows("SELECT doc FROM widgets WHERE id = ?", (widget_id,))
        return rows[0] if rows else None

    def list_widgets(self, offset: int, limit: int) -> tuple[list[Record], int]:
        """A page of widgets in creation order, and the total count."""
        items = self._rows("SELECT doc FROM widgets ORDER BY seq LIMIT ? OFFSET ?", (limit, offset))
        return items, self._scalar("SELECT COUNT(*) FROM widgets")

    def page_widgets(self, window: Window) -> Listing:
        """A slice of the widgets in the window's order."""
        return self._page("widgets", {}, window)

    def widget_versions(self, widget_id: str) -> list[Record]:
        """Every version snapshot of a widget, oldest first."""
        return self._rows(
            "SELECT doc FROM widget_versions WHERE widget_id = ? ORDER BY seq", (widget_id,)
        )

    # Interaction events ----------------------------------------------------------------------

    def add_event(self, event: Record, consumer: str, header_key: str | None) -> None:
        """Store an interaction event (a repeat is a second event: no dedupe here)."""
        key = event.get("metadata", {}).get("idempotencyKey")
        with self._lock:
            self._db.execute(
                "INSERT INTO events (id, widget_id, event_type, idempotency_key, header_key,"
                " consumer, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    event["id"],
                    event["widgetId"],
                    event["eventType"],
                    key if isinstance(key, str) else None,
                    header_key,
                    consumer,
                    _dump(event),
                ),
            )

    def event_by_header_key(self, consumer: str, header_key: str) -> Record | None:
        """The first event a consumer posted with this Idempotency-Key header, or None."""
        rows = self._rows(
            "SELECT doc FROM events WHERE consumer = ? AND header_key = ? ORDER BY seq LIMIT 1",
            (consumer, header_key),
        )
        return rows[0] if rows else None

    def list_events(
        self, filters: dict[str, str], offset: int, limit: int
    ) -> tuple[list[Record], int]:
        """A page of events matching `filters` (widget_id, event_type, idempotency_key)."""
        where, args = _where(filters)
        items = self._rows(
            f"SELECT doc FROM events{where} ORDER BY seq LIMIT ? OFFSET ?",  # noqa: S608 - column names are fixed
            (*args, limit, offset),
        )
        return items, self._scalar(f"SELECT COUNT(*) FROM events{where}", args)  # noqa: S608 - as above

    def page_events(self, filters: dict[str, str], window: Window) -> Listing:
        """A slice of the events matching `filters`, in the window's order."""
        return self._page("events", filters, window)

    def _page(self, table: str, filters: dict[str, str], window: Window) -> Listing:
        where, filter_args = _where(filters)
        total = self._scalar(f"SELECT COUNT(*) FROM {table}{where}", filter_args)  # noqa: S608 - fixed names
        args: tuple[Any, ...] = filter_args
        if window.after_seq is not None:
            where += (" AND " if where else " WHERE ") + (
                "seq < ?" if window.newest_first else "seq > ?"
            )
            args = (*args, window.after_seq)
        order = "DESC" if window.newest_first else "ASC"
        with self._lock:
            rows = self._db.execute(
                f"SELECT seq, doc FROM {table}{where} ORDER BY seq {order} LIMIT ? OFFSET ?",  # noqa: S608 - fixed names
                (*args, window.limit + 1, window.offset),
            ).fetchall()
        more = len(rows) > window.limit
        rows = rows[: window.limit]
        items = [json.loads(doc) for _, doc in rows]
        return Listing(items, total, rows[-1][0] if rows else None, more)

    def duplicate_keys(self) -> dict[str, int]:
        """`metadata.idempotencyKey` values stored more than once, with their counts."""
        with self._lock:
            rows = self._db.execute(
                "SELECT idempotency_key, COUNT(*) FROM events WHERE idempotency_key IS NOT NULL"
                " GROUP BY idempotency_key HAVING COUNT(*) > 1 ORDER BY idempotency_key"
            ).fetchall()
        return dict(rows)

    # Progress ------------------------------------------------------------------------------

    def add_progress(self, record: Record) -> tuple[Record, bool]:
        """Store a progress record unless its idempotency key exists; (stored, created)."""
        key = record.get("idempotency_key")
        with self._lock:
            if key is not None:
                row = self._db.execute(
                    "SELECT doc FROM progress WHERE idempotency_key = ?", (key,)
                ).fetchone()
                if row is not None:
                    original: Record = json.loads(row[0])
                    return original, False
            self._db.execute(
                "INSERT INTO progress (id, event_type, idempotency_key, doc) VALUES (?, ?, ?, ?)",
                (record["id"], record["event_type"], key, _dump(record)),
            )
        return record, True

    def list_progress(self, event_type: str | None, limit: int) -> list[Record]:
        """The newest `limit` progress records, optionally of one event type."""
        if event_type is None:
            return self._rows("SELECT doc FROM progress ORDER BY seq DESC LIMIT ?", (limit,))
        return self._rows(
            "SELECT doc FROM progress WHERE event_type = ? ORDER BY seq DESC LIMIT ?",
            (event_type, limit),
        )

    # Inspection ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """How many records of each kind are stored."""
        return {
            table: self._scalar(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed table names
            for table in ("widgets", "widget_versions", "events", "progress")
        }

    def clear(self) -> None:
        """Delete every record (the admin reset)."""
        with self._lock:
            self._db.executescript(
                "DELETE FROM widgets; DELETE FROM widget_versions; DELETE FROM events;"
                " DELETE FROM progress;"
            )


_FILTER_COLUMNS = {
    "widget_id": "widget_id",
    "event_type": "event_type",
    "idempotency_key": "idempotency_key",
}


def _where(filters: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    clauses = [f"{_FILTER_COLUMNS[name]} = ?" for name in filters]
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(filters.values())


def _dump(record: Record) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)

"""What each probe last emitted (fingerprint and time), kept across restarts.

A restart must not re-emit everything: the scheduler compares each new result with the
last *emitted* fingerprint stored here. SQLite in the state directory, on its own thread.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

from ops_evidence.delivery.outbox.dbthread import DbThread
from ops_evidence.errors import OutboxError
from ops_evidence.schedule.timetable import Emitted


class ProbeStateStore(Protocol):
    """Persistence of the last emission per context key."""

    async def open(self) -> dict[str, Emitted]:
        """Open storage and return every stored emission."""
        ...

    async def save(self, key: str, emitted: Emitted) -> None:
        """Remember an emission."""
        ...

    async def close(self) -> None:
        """Release storage."""
        ...


class MemoryProbeState:
    """In-memory store (tests, `--dry-run`)."""

    def __init__(self) -> None:
        self.rows: dict[str, Emitted] = {}

    async def open(self) -> dict[str, Emitted]:
        """Everything saved so far."""
        return dict(self.rows)

    async def save(self, key: str, emitted: Emitted) -> None:
        """Keep it in the dict."""
        self.rows[key] = emitted

    async def close(self) -> None:
        """Nothing to release."""


class SqliteProbeState:
    """Emissions in `probe-state.sqlite3` (WAL, synchronous=FULL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = DbThread(self._connect, name="probe-state-db")

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS emitted (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
            "at REAL NOT NULL) WITHOUT ROWID"
        )
        return conn

    async def open(self) -> dict[str, Emitted]:
        """Start the DB thread and load every row."""
        self._db.start()
        rows = await self._db.read(
            lambda c: c.execute("SELECT key, fingerprint, at FROM emitted").fetchall()
        )
        return {key: Emitted(fp, at) for key, fp, at in rows}

    async def save(self, key: str, emitted: Emitted) -> None:
        """Upsert the row (group-committed with concurrent saves).

        Raises OutboxError when the state directory cannot be written (e.g. a full disk):
        the same store, the same one-line report and exit 74 as the outbox beside it.
        """
        try:
            await self._db.write(
                lambda c: c.execute(
                    "INSERT INTO emitted VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "fingerprint = excluded.fingerprint, at = excluded.at",
                    (key, emitted.fingerprint, emitted.at),
                )
            )
        except sqlite3.Error as exc:
            raise OutboxError(f"probe state {self.path}: {exc}") from None

    async def close(self) -> None:
        """Stop the DB thread."""
        self._db.stop()

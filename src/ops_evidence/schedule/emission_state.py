"""What each probe last emitted (fingerprint and time), kept across restarts; and, for the
jobs that are recalled (restore drills), their last event itself.

A restart must not re-emit everything: the scheduler compares each new result with the
last *emitted* fingerprint stored here. Nor re-run every drill: a drill's last event (`keep`)
is handed back on start, so its next run waits out its interval and the gates still see it.
SQLite in the state directory, on its own thread.
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

    async def keep(self, key: str, at: float, body: str) -> None:
        """Remember a recalled job's last run: when it started and its event (JSON)."""
        ...

    async def kept(self) -> dict[str, tuple[float, str]]:
        """Every kept run, key -> (start time, event JSON); after `open`."""
        ...

    async def close(self) -> None:
        """Release storage."""
        ...


class MemoryProbeState:
    """In-memory store (tests, `--dry-run`)."""

    def __init__(self) -> None:
        self.rows: dict[str, Emitted] = {}
        self.runs: dict[str, tuple[float, str]] = {}

    async def open(self) -> dict[str, Emitted]:
        """Everything saved so far."""
        return dict(self.rows)

    async def save(self, key: str, emitted: Emitted) -> None:
        """Keep it in the dict."""
        self.rows[key] = emitted

    async def keep(self, key: str, at: float, body: str) -> None:
        """Keep the run in the dict."""
        self.runs[key] = (at, body)

    async def kept(self) -> dict[str, tuple[float, str]]:
        """Every run kept so far."""
        return dict(self.runs)

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
        # Its own table, so a probe-state file from before it opens unchanged.
        conn.execute(
            "CREATE TABLE IF NOT EXISTS kept (key TEXT PRIMARY KEY, at REAL NOT NULL, "
            "body TEXT NOT NULL) WITHOUT ROWID"
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
        await self._write(
            "INSERT INTO emitted VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "fingerprint = excluded.fingerprint, at = excluded.at",
            (key, emitted.fingerprint, emitted.at),
        )

    async def keep(self, key: str, at: float, body: str) -> None:
        """Upsert the kept run; OutboxError as `save`."""
        await self._write(
            "INSERT INTO kept VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "at = excluded.at, body = excluded.body",
            (key, at, body),
        )

    async def kept(self) -> dict[str, tuple[float, str]]:
        """Every kept run."""
        rows = await self._db.read(lambda c: c.execute("SELECT key, at, body FROM kept").fetchall())
        return {key: (at, body) for key, at, body in rows}

    async def _write(self, sql: str, values: tuple[object, ...]) -> None:
        try:
            await self._db.write(lambda c: c.execute(sql, values))
        except sqlite3.Error as exc:
            raise OutboxError(f"probe state {self.path}: {exc}") from None

    async def close(self) -> None:
        """Stop the DB thread."""
        self._db.stop()

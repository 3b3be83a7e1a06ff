"""Outbox schema and its migrations, versioned with SQLite's `user_version`."""

from __future__ import annotations

import sqlite3

ACTIVE_SQL = "('pending', 'retrying', 'inter_hub_sink_deferred')"
DUE_SQL = "('pending', 'retrying')"
# Statuses that mean the sink holds the evidence: an event with one such row has *landed*.
DONE_SQL = "('delivered', 'duplicate')"

# Each entry migrates from version N to N+1; never edit a shipped entry, append a new one.
MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE TABLE events (
        key TEXT PRIMARY KEY,
        event_type TEXT NOT NULL,
        context_key TEXT NOT NULL,
        created_at REAL NOT NULL,
        event_json BLOB NOT NULL
    );
    CREATE TABLE deliveries (
        key TEXT NOT NULL REFERENCES events(key) ON DELETE CASCADE,
        sink TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        lease_until REAL NOT NULL DEFAULT 0,
        ambiguous INTEGER NOT NULL DEFAULT 0,
        body BLOB,
        widget_id TEXT,
        last_error TEXT,
        last_http_status INTEGER,
        event_type TEXT NOT NULL,
        context_key TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (key, sink)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_due ON deliveries (sink, next_attempt_at)
        WHERE status IN {ACTIVE_SQL};
    CREATE INDEX deliveries_status ON deliveries (status, sink);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO counters VALUES ('events', 0), ('refused_full', 0);
    """,
    # 2: `next_due` (run by the dispatcher on every idle turn) read every active row of the
    # sink through deliveries_status to compute MIN(MAX(next_attempt_at, lease_until)): cost
    # grew with deferred and retrying rows (bench/delivery.py: 2x per event at 10^6 rows
    # with 0.1% deferred). Indexing that expression makes it one index probe.
    f"""
    CREATE INDEX deliveries_wake ON deliveries (sink, MAX(next_attempt_at, lease_until))
        WHERE status IN {ACTIVE_SQL};
    """,
    # 3: when a delivery was first claimed, so a read-back after an ambiguous attempt knows
    # how far back in the hub's (newest-first) list the event could be. Rows already tried
    # get their creation time: earlier than (or at) their real first attempt, so safe.
    """
    ALTER TABLE deliveries ADD COLUMN first_attempt_at REAL;
    UPDATE deliveries SET first_attempt_at = created_at WHERE attempts > 0 OR ambiguous;
    """,
    # 4: the lifecycle (sqlite_lifecycle.py) walks events oldest first: the hourly prune only
    # as far as the retention's cut-off, and room-making at the cap until it has found enough
    # finished events. Without this index both would read every event.
    """
    CREATE INDEX IF NOT EXISTS events_created ON events (created_at);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION; returns the version found before."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"outbox schema version {found} is newer than this program's {SCHEMA_VERSION}"
        )
    for version in range(found, SCHEMA_VERSION):
        conn.executescript(
            f"BEGIN IMMEDIATE; {MIGRATIONS[version]} PRAGMA user_version = {version + 1}; COMMIT;"
        )
    return found

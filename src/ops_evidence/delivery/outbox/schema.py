"""Outbox schema and its migrations, versioned with SQLite's `user_version`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from ops_evidence.events.registry import parse_event
from ops_evidence.events.wire import fallback_seed, seed_bytes

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
    # 5: an Inter-Hub row carries its State Hub fallback's seed, so the fallback decided
    # after an attempt is built from the claimed row instead of the event reloaded and
    # validated again. Rows already stored get theirs from their event (_seed_fallbacks).
    """
    ALTER TABLE deliveries ADD COLUMN fallback_seed BLOB;
    """,
)
BACKFILL_BATCH = 500

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION; returns the version found before."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"outbox schema version {found} is newer than this program's {SCHEMA_VERSION}"
        )
    for version in range(found, SCHEMA_VERSION):
        backfill = BACKFILLS.get(version)
        if backfill is None:
            conn.executescript(
                f"BEGIN IMMEDIATE; {MIGRATIONS[version]} "
                f"PRAGMA user_version = {version + 1}; COMMIT;"
            )
            continue
        # A backfill runs Python between the statements, so one explicit transaction holds
        # the migration, its backfill and the new version: all of it or none after a crash.
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(MIGRATIONS[version])
            backfill(conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return found


def _seed_fallbacks(conn: sqlite3.Connection) -> None:
    """Give every stored Inter-Hub row its fallback seed, from its event (in batches, to
    keep memory flat on a large outbox)."""
    after = ""
    while True:
        rows = conn.execute(
            "SELECT d.key, e.event_json FROM deliveries d JOIN events e ON e.key = d.key "
            "WHERE d.sink = 'inter-hub' AND d.key > ? ORDER BY d.key LIMIT ?",
            (after, BACKFILL_BATCH),
        ).fetchall()
        if not rows:
            return
        for key, event_json in rows:
            try:
                event = parse_event(json.loads(event_json))
            except (ValueError, KeyError):  # not JSON, not valid, or an unknown event type
                continue  # no seed, so no fallback: the old reload could not parse it either
            conn.execute(
                "UPDATE deliveries SET fallback_seed = ? WHERE key = ? AND sink = 'inter-hub'",
                (seed_bytes(fallback_seed(event)), key),
            )
        after = rows[-1][0]


# Python run inside a migration's transaction, by the version it migrates from.
BACKFILLS: dict[int, Callable[[sqlite3.Connection], None]] = {4: _seed_fallbacks}

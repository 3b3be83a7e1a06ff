"""What only the SQLite outbox can show: commits by another process on the same file, and
migrations of an existing file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ops_evidence.delivery.outbox import NewDelivery, SqliteOutbox, StoredEvent
from ops_evidence.delivery.outbox.schema import MIGRATIONS

pytestmark = pytest.mark.anyio


def _event(n: int) -> StoredEvent:
    return StoredEvent(
        f"run|endpoint:e{n}|ops-endpoint-verified",
        "ops-endpoint-verified",
        f"endpoint:e{n}",
        0.0,
        b'{"n": %d}' % n,
    )


async def test_a_commit_by_another_connection_is_a_change_elsewhere(tmp_path: Path) -> None:
    """Another outbox on the same file commits (as `outbox replay` would): the service's
    outbox reports it once, then nothing new until the next foreign commit."""
    service, other = SqliteOutbox(tmp_path / "o.sqlite3"), SqliteOutbox(tmp_path / "o.sqlite3")
    await service.open()
    await other.open()  # its reset_leases changes no row here: nothing written
    try:
        assert await service.changed_elsewhere() is False
        await other.enqueue(_event(1), [NewDelivery("inter-hub", b"1")])
        assert await service.changed_elsewhere() is True
        assert await service.changed_elsewhere() is False
        await service.enqueue(_event(2), [NewDelivery("inter-hub", b"2")])
        assert await service.changed_elsewhere() is False
        assert await other.changed_elsewhere() is True  # the other side sees ours
    finally:
        await other.close()
        await service.close()


async def test_upgrading_a_v2_outbox_dates_tried_rows_from_their_creation(tmp_path: Path) -> None:
    """Migration 3 gives rows already attempted their creation time as first attempt (never
    "now": a read-back would then look too little far back); untried rows stay unset."""
    path = tmp_path / "outbox.sqlite3"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:2]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("INSERT INTO events VALUES ('k1', 't', 'c', 100.0, x'7b7d')")
    conn.execute("INSERT INTO events VALUES ('k2', 't', 'c', 200.0, x'7b7d')")
    for key, attempts, created in (("k1", 3, 100.0), ("k2", 0, 200.0)):
        conn.execute(
            "INSERT INTO deliveries (key, sink, status, attempts, event_type, context_key, "
            "created_at, updated_at) VALUES (?, 'inter-hub', 'retrying', ?, 't', 'c', ?, ?)",
            (key, attempts, created, created),
        )
    conn.commit()
    conn.close()
    box = SqliteOutbox(path)
    await box.open()
    rows = {d.key: d.first_attempt_at for d in await box.deliveries()}
    await box.close()
    assert rows == {"k1": 100.0, "k2": None}

"""What only the SQLite outbox can show: commits by another process on the same file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_evidence.outbox import NewDelivery, SqliteOutbox, StoredEvent

pytestmark = pytest.mark.anyio


def _event(n: int) -> StoredEvent:
    return StoredEvent(f"run|endpoint:e{n}|ops-endpoint-verified", "ops-endpoint-verified",
                       f"endpoint:e{n}", 0.0, b'{"n": %d}' % n)  # fmt: skip


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

"""SqliteProbeState's own promises, beyond the probe-state contract suite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ops_evidence.errors import OutboxError
from ops_evidence.schedule.emission_state import SqliteProbeState
from ops_evidence.schedule.timetable import Emitted

pytestmark = pytest.mark.anyio


async def test_the_state_directory_is_made_when_missing(tmp_path: Path) -> None:
    """A first start with no state directory yet creates it (a fresh PVC is empty)."""
    path = tmp_path / "new" / "dir" / "probe-state.sqlite3"
    store = SqliteProbeState(path)
    assert await store.open() == {}
    await store.save("endpoint:a", Emitted("f", 1.0))
    await store.close()
    assert path.is_file()


async def test_a_failed_save_is_an_outbox_error_naming_the_file(tmp_path: Path) -> None:
    """A save SQLite refuses raises OutboxError naming the file (the same one-line report
    and exit 74 as the outbox), not a raw sqlite3 error."""
    path = tmp_path / "probe-state.sqlite3"
    store = SqliteProbeState(path)
    await store.open()
    # Another connection takes the table away: the next upsert fails inside SQLite.
    with sqlite3.connect(path) as other:
        other.execute("DROP TABLE emitted")
    other.close()
    try:
        with pytest.raises(OutboxError, match=r"probe state .*probe-state\.sqlite3"):
            await store.save("endpoint:a", Emitted("f", 1.0))
    finally:
        await store.close()

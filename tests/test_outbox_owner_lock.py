"""The owner's lock: `outbox drain` and `run` refuse beside an owner; `run --once` keeps its leases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from ops_evidence.config.settings import load_settings
from ops_evidence.delivery.outbox import NewDelivery, SqliteOutbox, StoredEvent
from ops_evidence.delivery.outbox.lock import try_lock, unlock
from ops_evidence.errors import OutboxBusyError
from ops_evidence.service.lifecycle import Service
from tests.support import run_cli

pytestmark = pytest.mark.anyio

LEASE = 3600.0
KEY = "run|endpoint:e1|ops-endpoint-verified"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state dir with one State Hub row leased (in flight) by an owner, which is refused."""
    monkeypatch.setenv("OPS_EVIDENCE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("STATE_HUB_URL", "http://127.0.0.1:9")  # nothing listens: refused
    for name in ("INTER_HUB_URL", "OPS_HUB_KEY", "OPS_EVIDENCE_SINK"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def owner(state: Path) -> Iterator[None]:
    """Another process's lock on the outbox, as a running `run` holds it."""
    fd = try_lock(state)
    assert fd is not None
    yield
    unlock(fd)


async def _lease_one(state: Path) -> None:
    outbox = SqliteOutbox(state / "outbox.sqlite3")
    await outbox.open()
    event = StoredEvent(KEY, "ops-endpoint-verified", "endpoint:e1", time.time(), b"{}")
    await outbox.enqueue(event, [NewDelivery("state-hub", b"{}")])
    assert len(await outbox.claim("state-hub", time.time(), 10, LEASE)) == 1
    await outbox.close()


async def _still_leased(state: Path) -> bool:
    outbox = SqliteOutbox(state / "outbox.sqlite3")
    await outbox.open(release_leases=False)
    try:
        [row] = await outbox.deliveries(key=KEY)
        free = await outbox.claim("state-hub", time.time(), 10, LEASE)
        return row.attempts == 0 and row.status == "pending" and free == []
    finally:
        await outbox.close()


def test_drain_beside_an_owner_is_one_line_exit_75_and_keeps_its_leases(
    state: Path, owner: None
) -> None:
    """`outbox drain` while a service owns the outbox exits 75 with one line, before it
    releases (and resends) the service's in-flight deliveries."""
    anyio.run(_lease_one, state)
    env = {
        "OPS_EVIDENCE_STATE_DIR": str(state),
        "STATE_HUB_URL": "http://127.0.0.1:9",
        "OPS_EVIDENCE_LOG_FORMAT": "json",
    }
    result = run_cli(["outbox", "drain", "--timeout", "5"], env)
    assert result.returncode == 75, result.stderr
    plain = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert len(plain) == 1, result.stderr
    assert plain[0].startswith("ops-evidence: error: outbox drain: another ops-evidence process")
    assert "Traceback" not in result.stderr
    assert anyio.run(_still_leased, state)


async def test_run_beside_an_owner_refuses_before_opening_the_outbox(
    state: Path, owner: None
) -> None:
    """A second `run` on an owned outbox raises OutboxBusyError and leaves its leases."""
    await _lease_one(state)
    stop = anyio.Event()
    stop.set()  # were it to start, it would stop at once
    with pytest.raises(OutboxBusyError, match=r"^run: another ops-evidence process"):
        await Service(load_settings(), [], grace=1).run(listen=False, stop=stop)
    assert await _still_leased(state)


async def test_run_once_beside_an_owner_keeps_its_leases(state: Path, owner: None) -> None:
    """`run --once` works beside a running service without releasing its leases."""
    await _lease_one(state)
    records, _ = await Service(load_settings(), [], grace=1).run_once()
    assert records == []
    assert await _still_leased(state)


async def test_run_once_alone_releases_stale_leases(state: Path) -> None:
    """With no owner, `run --once` takes the lock and releases a crashed process's leases,
    so the stale row is attempted again."""
    await _lease_one(state)
    await Service(load_settings(), [], grace=1).run_once()
    assert not await _still_leased(state)
    fd = try_lock(state)
    assert fd is not None  # released on the way out
    unlock(fd)

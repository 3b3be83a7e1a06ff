"""`ops-evidence outbox` actions run beside a running service (another process)."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import anyio

from ops_evidence.delivery.outbox import NewDelivery, Result, SqliteOutbox, StoredEvent
from tests.support import run_cli


def test_replay_beside_a_running_service_leaves_its_leases_alone(tmp_path: Path) -> None:
    """`outbox replay` (and `stats`) while a service holds leases: its in-flight rows, a
    replayed one among them, stay leased; only the replayed idle row can be claimed."""

    async def scenario() -> list[str]:
        service = SqliteOutbox(tmp_path / "outbox.sqlite3")
        await service.open()
        try:
            for name in ("inflight", "retrying", "dead"):
                stored = StoredEvent(
                    f"k-{name}", "ops-endpoint-verified", f"endpoint:{name}", 0.0, b"{}"
                )
                await service.enqueue(stored, [NewDelivery("state-hub", b"{}")])
            now = time.time()  # `outbox replay` makes rows due at its own wall-clock time
            claimed = await service.claim("state-hub", now, 10, 60.0)
            await service.record(
                [
                    Result("k-retrying", "state-hub", "retrying", now),
                    Result("k-dead", "state-hub", "dead"),
                ],
                now,
            )
            await service.claim("state-hub", now, 10, 60.0)  # k-retrying in flight again
            assert len(claimed) == 3
            env = {"OPS_EVIDENCE_STATE_DIR": str(tmp_path)}
            for args in (["outbox", "stats"], ["outbox", "replay"]):
                done = await anyio.to_thread.run_sync(functools.partial(run_cli, args, env))
                assert done.returncode == 0, done.stderr
            return [d.key for d in await service.claim("state-hub", time.time(), 10, 60.0)]
        finally:
            await service.close()

    assert anyio.run(scenario) == ["k-dead"]

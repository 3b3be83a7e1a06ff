"""A running, idle `ops-evidence run` delivers rows that `outbox replay` (another process)
made due, within 10 s."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import anyio
import httpx
from prometheus_client.parser import text_string_to_metric_families

from ops_evidence.delivery.outbox import Result, SqliteOutbox
from ops_evidence.emulator import create_app
from tests.delivery_support import delivery_env, emulator_config, fill_outbox, stored_keys
from tests.real_servers import free_port
from tests.servers import serve_asgi
from tests.support import REPO, run_cli

# Only derived probes (drift, gates): they all run at start, then not for an hour, so the
# service notifies its own dispatcher of nothing after its first round.
INVENTORY = """\
version: 1
name: replay
defaults: {interval: 1h, timeout: 5s, heartbeat: 1h}
environments:
  - {id: replay-local, role: Replay test, lifecycle: active, owner: you}
"""
PICKUP = 10.0


def _poll(check: Callable[[], bool], what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling a real process's effects, with a deadline
    raise AssertionError(f"{what} within {deadline}s")


def _make_dead(path: Path) -> None:
    """Every pending inter-hub row ends `dead`, as after a long outage (no fallback)."""

    async def dead() -> None:
        box = SqliteOutbox(path)
        await box.open()
        try:
            claimed = await box.claim("inter-hub", time.time(), 1000, 60)
            await box.record([Result(d.key, d.sink, "dead") for d in claimed], time.time())
        finally:
            await box.close()

    anyio.run(dead)


def _idle(listen: str, outbox: Path, probes: int) -> bool:
    """Every probe has run once and every delivery is final and unleased."""
    text = httpx.get(f"http://{listen}/metrics", timeout=2).text
    runs = sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "ops_evidence_probe_runs"
        for sample in family.samples
        if sample.name.endswith("_total")
    )
    with closing(sqlite3.connect(f"file:{outbox}?mode=ro", uri=True)) as conn:
        (busy,) = conn.execute(
            "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'retrying') "
            "OR lease_until > 0"
        ).fetchone()
    return runs >= probes and busy == 0


def _probes(log: Path) -> int | None:
    for line in log.read_text().splitlines():
        if '"service_ready"' in line:
            return int(json.loads(line)["probes"])
    return None


def test_a_replay_from_another_process_is_delivered_by_an_idle_service(tmp_path: Path) -> None:
    """Rows made due by `outbox replay` while `run` is idle are delivered within 10 s."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY)
    state, log = tmp_path / "state", tmp_path / "run.log"
    with serve_asgi(create_app(emulator_config())) as hub:
        env = delivery_env(hub, state) | {
            "OPS_EVIDENCE_INVENTORY": str(inventory),
            "OPS_EVIDENCE_LOG_LEVEL": "info",
            "OPS_EVIDENCE_LISTEN": f"127.0.0.1:{free_port()}",
        }
        keys = fill_outbox(state, 3, env, prefix="replayed-")
        _make_dead(state / "outbox.sqlite3")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OPS_", "INTER_HUB"))}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ops_evidence", "run", "--grace", "5"],
                env=base | env,
                cwd=REPO,
                stdout=out,
                stderr=out,
            )
        try:
            _poll(lambda: _probes(log) is not None, "the service became ready")
            probes = _probes(log) or 0
            listen = env["OPS_EVIDENCE_LISTEN"]
            _poll(lambda: _idle(listen, state / "outbox.sqlite3", probes), "the service idled")
            assert not set(keys) & set(stored_keys(hub))  # dead rows are left alone
            replay = run_cli(["outbox", "replay", "--status", "dead"], env)
            assert replay.returncode == 0, replay.stderr
            assert "replayed 3 deliveries" in replay.stdout
            _poll(
                lambda: set(keys) <= set(stored_keys(hub)),
                "the replayed rows were delivered",
                deadline=PICKUP,
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        assert httpx.get(f"{hub}/_emulator/duplicates").json() == {}
    assert "Traceback" not in log.read_text()

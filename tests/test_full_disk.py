"""`ops-evidence run` on a state directory that runs out of space: one line, exit 74."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from ops_evidence.emulator import create_app
from tests.delivery_support import KEY, delivery_env, emulator_config, fill_outbox, stored_keys
from tests.real_servers import free_port
from tests.servers import serve_asgi
from tests.support import REPO, run_cli

# One backup probe that emits every second (heartbeat 1s), so the service keeps writing.
INVENTORY = """\
version: 1
name: full-disk
defaults: {{interval: 1s, timeout: 1s, heartbeat: 1s, backup_max_age: 1h}}
environments:
  - {{id: disk-local, role: Full-disk test, lifecycle: active, owner: you}}
backups:
  - id: disk-db-dumps
    environment: disk-local
    store: disk-db
    min_size: 10B
    check: {{kind: files, path: "{backups}", pattern: "*.sql.gz"}}
"""
MAPPING = json.dumps({"event_types": {"ops-backup-verified": "widget-ops-backup-verified"}})
TMPFS_SIZE = "8m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A size-limited tmpfs at tmp_path/state, unmounted by the finaliser."""
    mountpoint = tmp_path / "state"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a size-limited tmpfs here (needs root or CAP_SYS_ADMIN): "
            f"{mounted.stderr.strip()}"
        )
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "--lazy", str(mountpoint)], check=True)


def _fill(directory: Path) -> int:
    """Write a file until the file system refuses (ENOSPC); the bytes written."""
    written = 0
    with (directory / "filler").open("wb", buffering=0) as out:
        for chunk in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    written += out.write(b"\0" * chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return written


def _poll(check: object, what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)  # polling a real process's effects, with a deadline
    raise AssertionError(f"{what} within {deadline}s")


def test_a_full_disk_in_run_is_one_line_and_exit_74(tmp_path: Path, small_disk: Path) -> None:
    """The state dir fills up while `run` works: exit 74, one plain line naming the outbox
    error, no traceback, no key; what was committed before is still in the outbox."""
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "db.sql.gz").write_bytes(b"x" * 100)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY.format(backups=backups))
    with serve_asgi(create_app(emulator_config())) as hub:
        env = _run_env(hub, inventory, small_disk)
        log = tmp_path / "run.log"  # not on the small disk
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ops_evidence", "run", "--grace", "5"],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=out,
            )
        try:
            _poll(lambda: stored_keys(hub), "a first event was delivered")
            assert _fill(small_disk) > 0
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stderr = log.read_text()
    plain = [line for line in stderr.splitlines() if not _is_log_line(line)]
    assert proc.returncode == 74, stderr
    assert len(plain) == 1, stderr
    assert plain[0].startswith("ops-evidence: error: "), stderr
    assert "database or disk is full" in plain[0]
    assert "Traceback" not in stderr
    assert "ExceptionGroup" not in stderr
    assert KEY not in stderr
    assert '"service_stopped"' in stderr  # the outbox was closed on the way out
    (small_disk / "filler").unlink()
    with closing(sqlite3.connect(small_disk / "outbox.sqlite3")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (events,) = conn.execute("SELECT COUNT(*) FROM events").fetchone()
    assert events >= 1


def _run_env(hub: str, inventory: Path, state_dir: Path) -> dict[str, str]:
    """`run` against the emulator `hub`, its outbox in `state_dir`, logging JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPS_", "INTER_HUB"))}
    env |= {
        "INTER_HUB_URL": hub,
        "STATE_HUB_URL": hub,
        "OPS_HUB_KEY": KEY,
        "OPS_HUB_WIDGET_MAPPING": MAPPING,
        "OPS_EVIDENCE_INVENTORY": str(inventory),
        "OPS_EVIDENCE_STATE_DIR": str(state_dir),
        "OPS_EVIDENCE_LOG_FORMAT": "json",
        "OPS_EVIDENCE_LISTEN": f"127.0.0.1:{free_port()}",
    }
    return env


def _is_log_line(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def test_a_full_disk_in_outbox_drain_is_one_line_and_exit_74(
    tmp_path: Path, small_disk: Path
) -> None:
    """`outbox drain` whose first write finds the disk full (inside its dispatcher's task
    groups): exit 74, one plain line naming the outbox error, no traceback."""
    with serve_asgi(create_app(emulator_config())) as hub:
        env = delivery_env(hub, small_disk)
        fill_outbox(small_disk, 20, env)
        # An open reader keeps the -wal and -shm files in place, so the drain can open the
        # outbox on the full disk and fails at its first write (a claim), not at the open.
        with closing(sqlite3.connect(small_disk / "outbox.sqlite3")) as reader:
            reader.execute("SELECT COUNT(*) FROM events").fetchone()
            assert _fill(small_disk) > 0
            result = run_cli(["outbox", "drain", "--timeout", "30"], env)
    plain = [line for line in result.stderr.splitlines() if not _is_log_line(line)]
    assert result.returncode == 74, result.stderr
    assert len(plain) == 1, result.stderr
    assert plain[0].startswith("ops-evidence: error: outbox "), result.stderr
    assert plain[0].endswith(": database or disk is full"), result.stderr
    assert "Traceback" not in result.stderr

"""A drill killed outright (SIGKILL mid-restore) leaves its marked folder; the next start of
`run` removes it before any drill runs, and the new drill's own folder is removed too."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ops_evidence.checks.restore.scratch import MARKER, PREFIX
from tests.support import REPO, run_cli

pytestmark = pytest.mark.integration

# The drill's declared command: runs as long as the flag file exists.
HOLD = "import pathlib, sys, time\nwhile pathlib.Path(sys.argv[1]).exists(): time.sleep(0.05)\n"


def _inventory(tmp_path: Path, flag: Path) -> Path:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    (dumps / "a.sql.gz").write_bytes(gzip.compress(b"select 1;\n"))
    script = tmp_path / "hold.py"
    script.write_text(HOLD)
    backup = {
        "id": "dumps",
        "environment": "local",
        "store": "db",
        "check": {"kind": "files", "path": str(dumps), "pattern": "*.gz"},
        "restore": {"command": [sys.executable, str(script), str(flag)], "timeout": "5m"},
    }
    data = {"version": 1, "environments": [{"id": "local", "role": "t"}], "backups": [backup]}
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _drill_folders(scratch: Path) -> list[Path]:
    return sorted(scratch.glob(f"{PREFIX}*")) if scratch.exists() else []


def test_the_next_start_removes_what_a_killed_drill_left(tmp_path: Path) -> None:
    """Kill `run --once` while its drill holds a folder; the folder stays (marked); the next
    `run --once` sweeps it and its own drill leaves nothing."""
    flag = tmp_path / "hold"
    flag.touch()
    inventory = _inventory(tmp_path, flag)
    state = tmp_path / "state"
    scratch = state / "restore-scratch"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPS_", "INTER_HUB", "STATE_HUB"))
    }
    env["OPS_EVIDENCE_STATE_DIR"] = str(state)
    argv = [sys.executable, "-m", "ops_evidence", "run", "--once", "--dry-run"]
    child = subprocess.Popen(
        [*argv, "--inventory", str(inventory)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its group: the drill's command dies with it
    )
    try:
        deadline = time.monotonic() + 60
        while not _drill_folders(scratch) and child.poll() is None:
            assert time.monotonic() < deadline, "the drill never made its folder"
            time.sleep(0.05)
        [left] = _drill_folders(scratch)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert left.exists()
    assert (left / MARKER).read_text().split()[0] == str(child.pid)
    flag.unlink()  # the next drill's command returns at once
    result = run_cli(
        ["run", "--once", "--dry-run", "--inventory", str(inventory)],
        {"OPS_EVIDENCE_STATE_DIR": str(state)},
    )
    assert not left.exists(), result.stderr
    assert _drill_folders(scratch) == []
    [drill] = [
        json.loads(line) for line in result.stdout.splitlines() if '"ops-restore-tested"' in line
    ]
    assert (drill["attributes"]["verified"], drill["attributes"]["scratch_removed"]) == (True, True)
    assert "restore_scratch_swept" in result.stderr

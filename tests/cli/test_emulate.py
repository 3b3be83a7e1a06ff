"""`ops-evidence emulate`: serves on loopback, prints the key file not the key, logs requests."""

from __future__ import annotations

import os
import queue
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support import REPO, run_cli

STARTUP_DEADLINE = 20.0


@contextmanager
def emulator_process(
    stderr: Path, *args: str
) -> Iterator[tuple[str, subprocess.Popen[str], list[str]]]:
    """Run `ops-evidence emulate --port 0 ARGS` (stderr to a file); yields URL, process, stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPS_")}
    env["OPS_EVIDENCE_LOG_FORMAT"] = "json"
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ops_evidence", "emulate", "--port", "0", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout or ():
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while not any(line.startswith("emulator listening on ") for line in seen):
            seen.append(lines.get(timeout=max(0.01, deadline - time.monotonic())))
        url = next(line for line in seen if line.startswith("emulator listening on "))
        yield url.split()[-1], proc, seen
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        while not lines.empty():
            seen.append(lines.get_nowait())


def test_emulate_serves_and_never_prints_the_key(tmp_path: Path) -> None:
    """The key is written 0600 and its path printed; requests are logged without it; ^C exits 130."""
    key_dir = tmp_path / "keys"
    log = tmp_path / "stderr.log"
    with emulator_process(log, "--key-dir", str(key_dir)) as (url, proc, stdout):
        assert url.startswith("http://127.0.0.1:")
        key_file = key_dir / "ops-evidence.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert httpx.get(f"{url}/state/health").status_code == 200
        response = httpx.post(
            f"{url}/api/v2/interaction-events",
            json={"widgetId": "widget-ops-endpoint-verified", "eventType": "ops-endpoint-verified"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 201
    stderr = log.read_text()
    assert any(str(key_file) in line for line in stdout)
    assert '"event": "emulator_request"' in stderr
    assert '"path": "/api/v2/interaction-events"' in stderr
    assert '"status": 201' in stderr
    assert key not in stderr
    assert key not in "".join(stdout)
    assert proc.returncode == 130  # interrupted: uvicorn shuts down, then re-raises SIGINT


def test_emulate_refuses_non_loopback_host() -> None:
    """A non-loopback --host is a usage error (64) unless explicitly allowed."""
    result = run_cli(["emulate", "--host", "192.0.2.1", "--port", "0"])
    assert result.returncode == 64
    assert "--allow-non-loopback" in result.stderr


def test_emulate_reports_a_bad_config(tmp_path: Path) -> None:
    """An invalid config file exits 78 with the file and field named."""
    path = tmp_path / "bad.yaml"
    path.write_text("faults: {reset_after_commit: 2}\n")
    result = run_cli(["emulate", "--port", "0", "--config", str(path)])
    assert result.returncode == 78
    assert "faults.reset_after_commit" in result.stderr


@pytest.mark.parametrize("seed", ["5"])
def test_emulate_seed_overrides_config(tmp_path: Path, seed: str) -> None:
    """--seed replaces the fault seed of the config (visible at /_emulator/faults)."""
    log = tmp_path / "stderr.log"
    with emulator_process(log, "--seed", seed, "--key-dir", str(tmp_path)) as (url, _, _):
        assert httpx.get(f"{url}/_emulator/faults").json()["seed"] == int(seed)


def test_emulate_profile_minimal_serves_the_seeds_list(tmp_path: Path) -> None:
    """--profile minimal: the widget list in pages of 20 by page/limit, with a pagination object;
    the start-up lines say which list behaviour is served."""
    log = tmp_path / "stderr.log"
    args = ("--profile", "minimal", "--key-dir", str(tmp_path))
    with emulator_process(log, *args) as (url, _, seen):
        key = (tmp_path / "ops-evidence.key").read_text().strip()
        answer = httpx.get(f"{url}/api/v2/widgets", headers={"Authorization": f"Bearer {key}"})
    assert set(answer.json()) == {"data", "pagination"}
    assert answer.json()["pagination"]["limit"] == 20
    assert any("profile minimal, page-limit, pages of 20, newest first" in s for s in seen)

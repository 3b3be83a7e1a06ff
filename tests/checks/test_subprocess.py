"""Running tools: missing tool, timeout, minimal environment."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from ops_evidence.checks.subprocess import run_tool
from tests.real_servers import wait_until

pytestmark = pytest.mark.anyio


async def test_missing_tool() -> None:
    """A binary that is not installed is `tool_missing`, not an exception."""
    result = await run_tool(["ops-evidence-no-such-tool", "--version"])
    assert result.failure is not None
    assert result.failure.reason == "tool_missing"


async def test_timeout_kills_the_tool() -> None:
    """A tool running past its timeout is `timeout`."""
    result = await run_tool(["sleep", "10"], timeout=0.2)
    assert result.failure is not None
    assert result.failure.reason == "timeout"


async def test_timeout_kills_what_the_tool_started(tmp_path: Path) -> None:
    """A tool cut short takes its children with it (a wrapper such as `runuser` must not
    leave the real tool running): the shell's background `sleep` is gone too."""
    pid_file = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    result = await run_tool(["sh", "-c", script], timeout=0.5)
    assert result.failure is not None
    assert result.failure.reason == "timeout"
    child = int(pid_file.read_text())
    wait_until(lambda: not _running(child), "the tool's child killed", deadline=5)


async def test_a_tool_that_exits_keeps_what_it_started(tmp_path: Path) -> None:
    """A tool that finishes by itself leaves its daemon running (`pg_ctl start` leaves the
    server): only a run cut short kills the process group."""
    pid_file = tmp_path / "daemon.pid"
    script = f"sleep 60 > /dev/null 2>&1 & echo $! > {pid_file}"
    result = await run_tool(["sh", "-c", script], timeout=5)
    daemon = int(pid_file.read_text())
    try:
        assert (result.returncode, _running(daemon)) == (0, True)
    finally:
        os.kill(daemon, signal.SIGKILL)


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_service_secrets_do_not_reach_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tool gets a minimal environment plus what the reader adds: no OPS_HUB_KEY."""
    monkeypatch.setenv("OPS_HUB_KEY", "canary-hub-key-123456")
    result = await run_tool(["env"], env={"RESTIC_REPOSITORY": "/repo"})
    names = {line.split("=", 1)[0] for line in result.stdout.decode().splitlines()}
    assert "RESTIC_REPOSITORY" in names
    assert "OPS_HUB_KEY" not in names


async def test_exit_code_and_stderr_line() -> None:
    """A failing tool's exit code and last stderr line are kept (redacted)."""
    result = await run_tool(["sh", "-c", "echo 'password=hunter2hunter2' >&2; exit 3"])
    assert result.returncode == 3
    assert "hunter2" not in result.stderr_line

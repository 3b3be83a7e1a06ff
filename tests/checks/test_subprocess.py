"""Running tools: missing tool, timeout, minimal environment."""

from __future__ import annotations

import pytest

from ops_evidence.checks.subprocess import run_tool

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

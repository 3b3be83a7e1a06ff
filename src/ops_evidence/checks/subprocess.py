"""Run a backup tool: anyio, a timeout, a clean environment, output parsed by the caller.

Credentials go by environment variable or file, never in argv (visible in `ps`). The tool's
stderr is reduced to one redacted line for the failure message; stdout is returned for
parsing and must not be stored as-is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from anyio.abc import ByteReceiveStream

from ops_evidence.checks.base import Failure
from ops_evidence.checks.errors import plain_words
from ops_evidence.redact import redact_text

_MAX_OUTPUT = 4 * 1024 * 1024
# Only what a tool needs to run; the service's own settings (OPS_HUB_KEY …) never reach it.
_INHERITED = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "USER",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "BORG_BASE_DIR",
)


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A finished tool run: exit code, stdout for parsing, one line of stderr for humans."""

    returncode: int | None = None
    stdout: bytes = field(default=b"", repr=False)
    stderr_line: str = ""
    failure: Failure | None = None


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    meaningful = [line for line in lines if line]
    return redact_text(meaningful[-1] if meaningful else "", limit=200)


async def run_tool(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    cwd: Path | None = None,
) -> ToolResult:
    """Run `argv` with `env` added to a minimal environment (in `cwd`); never raises. A
    cancelled run kills the tool and every process it started (`_run`)."""
    binary = shutil.which(argv[0])
    if binary is None:
        return ToolResult(failure=Failure.of("tool_missing", f"{argv[0]} is not installed"))
    base = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    try:
        with anyio.fail_after(timeout):
            returncode, stdout, stderr = await _run(
                [binary, *argv[1:]], {**base, **(env or {})}, cwd
            )
    except TimeoutError:
        return ToolResult(failure=Failure.of("timeout", f"{argv[0]} did not finish in {timeout}s"))
    except OSError as exc:
        return ToolResult(failure=Failure.of("tool_failed", f"{argv[0]}: {plain_words(exc)}"))
    if len(stdout) > _MAX_OUTPUT:
        return ToolResult(returncode, failure=Failure.of("output_too_large", argv[0]))
    return ToolResult(returncode, stdout, _last_line(stderr))


async def _run(argv: list[str], env: dict[str, str], cwd: Path | None) -> tuple[int, bytes, bytes]:
    """The tool's exit code and output. It runs in a session of its own, and a run cut short
    (the timeout, a shutdown) kills that whole process group, not only the tool: a wrapper
    (`runuser` before pgBackRest, psql or pg_ctl) must not leave its child writing into a
    drill folder being removed. A tool that exits by itself keeps what it started (`pg_ctl
    start` leaves the server it started running until `pg_ctl stop`)."""
    process = await anyio.open_process(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,  # a tool that prompts must fail, not hang
        start_new_session=True,
    )
    async with process:
        try:
            out, err = bytearray(), bytearray()
            async with anyio.create_task_group() as tg:
                tg.start_soon(_drain, process.stdout, out)
                tg.start_soon(_drain, process.stderr, err)
            return await process.wait(), bytes(out), bytes(err)
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)


async def _drain(stream: ByteReceiveStream | None, into: bytearray) -> None:
    if stream is not None:
        async for chunk in stream:
            into += chunk

"""Run a backup tool: anyio, a timeout, a clean environment, output parsed by the caller.

Credentials go by environment variable or file, never in argv (visible in `ps`). The tool's
stderr is reduced to one redacted line for the failure message; stdout is returned for
parsing and must not be stored as-is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio

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
    cancelled run kills the tool (anyio's process close)."""
    binary = shutil.which(argv[0])
    if binary is None:
        return ToolResult(failure=Failure.of("tool_missing", f"{argv[0]} is not installed"))
    base = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    try:
        with anyio.fail_after(timeout):
            done = await anyio.run_process(
                [binary, *argv[1:]],
                env={**base, **(env or {})},
                check=False,
                cwd=cwd,
                stdin=subprocess.DEVNULL,  # a tool that prompts must fail, not hang
            )
    except TimeoutError:
        return ToolResult(failure=Failure.of("timeout", f"{argv[0]} did not finish in {timeout}s"))
    except OSError as exc:
        return ToolResult(failure=Failure.of("tool_failed", f"{argv[0]}: {plain_words(exc)}"))
    if len(done.stdout) > _MAX_OUTPUT:
        return ToolResult(done.returncode, failure=Failure.of("output_too_large", argv[0]))
    return ToolResult(done.returncode, done.stdout, _last_line(done.stderr))

"""Helpers for tests: requiring real tools, running the CLI as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def require_tool(name: str, package: str | None = None) -> str:
    """Path of a real tool; skip with a reason when absent (which fails under CI=true)."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if Path(p).exists()), None
    )
    if path is None:
        pytest.skip(f"{name} not installed (apt-get install {package or name})")
    return path


def run_cli(
    args: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path = REPO, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m ops_evidence ARGS` with a clean ops-evidence environment."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPS_", "INTER_HUB", "STATE_HUB"))
    }
    return subprocess.run(
        [sys.executable, "-m", "ops_evidence", *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

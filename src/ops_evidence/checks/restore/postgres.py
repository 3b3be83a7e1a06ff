"""A restored PostgreSQL data directory, started for one query and stopped again.

The server listens on no TCP address (`listen_addresses=''`), only on a unix socket in a
private folder of its own, and reads a minimal configuration written by the drill (trust
for local connections on that socket, no archiving): the live cluster's settings (its port,
archive command, certificate paths) never apply. The socket folder is short and under the
system temp folder because a socket path is limited to 107 bytes. Output of the query is
counted, never stored; a failing query is reported by psql's exit status and SQLSTATE only,
since its error text may quote row values.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

from ops_evidence.checks.base import Failure
from ops_evidence.checks.restore.base import exited
from ops_evidence.checks.subprocess import ToolResult, run_tool

PORT = 5432
_CONFIG = "listen_addresses = ''\narchive_mode = off\nfsync = off\n"


def pg_bin_folder(declared: Path | None) -> Path | None:
    """The declared bin folder, or the newest installed `/usr/lib/postgresql/<n>/bin`."""
    if declared is not None:
        return declared
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "pg_ctl").exists()]
    versions = [(int(p.parent.name), p) for p in found if re.fullmatch(r"\d+", p.parent.name)]
    return max(versions)[1] if versions else None


@dataclass(frozen=True, slots=True)
class Runner:
    """Runs PostgreSQL's tools as `user` when the service is root (PostgreSQL refuses root)."""

    user: str | None
    timeout: float

    def prefix(self) -> list[str]:
        """`runuser -u <user> --` when root and a user is declared; nothing otherwise."""
        return ["runuser", "-u", self.user, "--"] if self.user and os.geteuid() == 0 else []

    async def run(self, argv: list[str], cwd: Path | None = None) -> ToolResult:
        """One tool run, as the user."""
        return await run_tool([*self.prefix(), *argv], timeout=self.timeout, cwd=cwd)

    def give(self, *paths: Path) -> None:
        """Hand folders to the user (0700), so the tools running as it can write there."""
        if self.user and os.geteuid() == 0:
            for path in paths:
                shutil.chown(path, self.user, self.user)
                path.chmod(0o700)


@asynccontextmanager
async def started(data: Path, bin_dir: Path, runner: Runner) -> AsyncIterator[Path | Failure]:
    """The server on `data`, yielding its socket folder (or why it did not start); always
    stopped on the way out, shielded, before the caller removes the folders."""
    socket_dir = Path(tempfile.mkdtemp(prefix="oe-pg-"))
    config = data.parent / "drill-postgresql.conf"
    hba = data.parent / "drill-pg_hba.conf"
    config.write_text(_CONFIG)
    hba.write_text("local all all trust\n")
    runner.give(socket_dir)
    for path in (config, hba):
        path.chmod(0o644)
    options = (
        f"-c config_file={config} -c hba_file={hba} -c port={PORT} "
        f"-c unix_socket_directories={socket_dir} -c listen_addresses=''"
    )
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    log = ["-l", str(data.parent / "postgres.log")]
    try:
        result = await runner.run([*pg_ctl, "-o", options, *log, "-w", "start"])
        yield exited("pg_ctl start", result, "sanity_failed") or socket_dir
    finally:
        with anyio.CancelScope(shield=True):
            await runner.run([*pg_ctl, "-m", "immediate", "-w", "stop"])
            shutil.rmtree(socket_dir, ignore_errors=True)


def _query_failed(result: ToolResult) -> Failure | None:
    # psql's error text may quote restored row values (`invalid input syntax …: "<value>"`):
    # only its exit status and the SQLSTATE code (VERBOSITY=sqlstate prints nothing else).
    if result.failure is not None or result.returncode == 0:
        return result.failure
    code = re.fullmatch(r"(?:ERROR|FATAL|PANIC):\s+([0-9A-Z]{5})", result.stderr_line)
    sqlstate = f" (SQLSTATE {code[1]})" if code else ""
    return Failure.of("sanity_failed", f"psql exited {result.returncode}{sqlstate}")


async def sanity_query(
    bin_dir: Path, socket_dir: Path, database: str, query: str, runner: Runner
) -> tuple[int, Failure | None]:
    """Run the query with psql on the private socket; the number of rows it returned."""
    argv = [str(bin_dir / "psql"), "-h", str(socket_dir), "-p", str(PORT), "-d", database]
    argv += ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=sqlstate", "-c", query]
    result = await runner.run(argv)
    failure = _query_failed(result)
    rows = len([line for line in result.stdout.decode("utf-8", "replace").splitlines() if line])
    return rows, failure

"""Real backup repositories for tests: restic, borg and pgBackRest, made in a temp folder.

Each repository gets a fresh backup or one backdated by `--time` / `--timestamp`, so a
probe sees the newest backup's age exactly as the tool reports it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.real_servers import free_port

RESTIC_PASSWORD = "canary-Restic-Passw0rd-91ab"
BORG_PASSPHRASE = "canary-Borg-Passphr4se-52cd"
STALE = timedelta(days=3)


def _data(folder: Path) -> Path:
    data = folder / "data"
    data.mkdir(exist_ok=True)
    (data / "file.txt").write_text("evidence\n" * 100)
    return data


def restic_repo(folder: Path, binary: str, *, when: datetime | None) -> Path:
    """A restic repository (password in `folder/password`) with one snapshot at `when`."""
    repo, password = folder / "restic-repo", folder / "password"
    password.write_text(RESTIC_PASSWORD + "\n")
    env = {**os.environ, "RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD_FILE": str(password)}
    subprocess.run([binary, "--no-cache", "init"], env=env, check=True, capture_output=True)
    argv = [binary, "--no-cache", "backup", str(_data(folder))]
    if when is not None:
        argv += ["--time", when.astimezone().strftime("%Y-%m-%d %H:%M:%S")]
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return repo


def borg_env(folder: Path) -> dict[str, str]:
    """Environment for borg in tests: its own base dir, the canary passphrase."""
    return {
        **os.environ,
        "BORG_BASE_DIR": str(folder / "borg-base"),
        "BORG_PASSPHRASE": BORG_PASSPHRASE,
    }


def borg_repo(folder: Path, binary: str, *, when: datetime | None) -> Path:
    """An encrypted borg repository with one archive created at `when` (UTC)."""
    repo = folder / "borg-repo"
    env = borg_env(folder)
    subprocess.run(
        [binary, "init", "--encryption=repokey", str(repo)],
        env=env,
        check=True,
        capture_output=True,
    )
    argv = [binary, "create"]
    if when is not None:
        argv += ["--timestamp", when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    subprocess.run(
        [*argv, f"{repo}::one", str(_data(folder))], env=env, check=True, capture_output=True
    )
    return repo


@dataclass(frozen=True)
class PgBackRest:
    """A pgBackRest repository with one full backup of a throwaway PostgreSQL cluster."""

    config: Path
    stanza: str
    # A tablespace outside the data directory, holding table `in_tablespace` (one row).
    tablespace: Path


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb refuses root; as root the test switches to the `postgres` system user.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _write_config(folder: Path, data: Path, port: int, stanza: str) -> Path:
    """pgbackrest.conf for one stanza, its repository and logs in `folder`."""
    config = folder / "pgbackrest.conf"
    config.write_text(
        f"[global]\nrepo1-path={folder}/repo\nlog-path={folder}\nlock-path={folder}/lock\n"
        f"log-level-console=error\nlog-level-file=off\nstart-fast=y\n"
        f"[{stanza}]\npg1-path={data}\npg1-port={port}\npg1-socket-path={folder}\n"
    )
    config.chmod(0o644)
    return config


def _start_postgres(pg_bin: Path, data: Path, folder: Path, options: str) -> None:
    """pg_ctl start, waiting until it accepts connections; its log in `folder`."""
    subprocess.run(
        _as_postgres(
            [
                str(pg_bin / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "pg.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )


def _make_tablespace(pg_bin: Path, socket: Path, port: int, location: Path) -> None:
    """A tablespace at `location` with one table of one row (a restore must not write there)."""
    subprocess.run(_as_postgres(["mkdir", "-m", "0700", str(location)]), check=True)
    psql = [str(pg_bin / "psql"), "-h", str(socket), "-p", str(port), "-d", "postgres", "-X"]
    for sql in (
        f"create tablespace drill_space location '{location}'",
        "create table in_tablespace (n int) tablespace drill_space",
        "insert into in_tablespace values (1)",
    ):
        subprocess.run(_as_postgres([*psql, "-c", sql]), check=True, capture_output=True)


@contextmanager
def pgbackrest_repo(pg_bin: Path, pgbackrest: str) -> Iterator[PgBackRest]:
    """initdb, start PostgreSQL on a high port, stanza-create and one full backup."""
    folder = Path(tempfile.mkdtemp(prefix="pgbr-", dir="/tmp"))  # readable by `postgres`
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port, data, stanza = free_port(), folder / "data", "demo"
    config = _write_config(folder, data, port, stanza)
    run = [pgbackrest, f"--config={config}", f"--stanza={stanza}"]
    archive = f"{pgbackrest} --config={config} --stanza={stanza} archive-push %p"
    try:
        subprocess.run(
            _as_postgres([str(pg_bin / "initdb"), "-A", "trust", "-D", str(data)]),
            check=True,
            capture_output=True,
        )
        options = (
            f"-c port={port} -c listen_addresses='' -c unix_socket_directories={folder} "
            f"-c wal_level=replica -c archive_mode=on -c archive_command='{archive}'"
        )
        _start_postgres(pg_bin, data, folder, options)
        tablespace = folder / "tablespace"
        _make_tablespace(pg_bin, folder, port, tablespace)
        for step in (["stanza-create"], ["backup", "--type=full"]):
            subprocess.run(_as_postgres([*run, *step]), check=True, capture_output=True)
        yield PgBackRest(config, stanza, tablespace)
    finally:
        subprocess.run(
            _as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)

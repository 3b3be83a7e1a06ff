"""Backup readers against real restic, borg and pgBackRest repositories, a folder, and nginx."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ops_evidence.checks.backup.borg import read_borg
from ops_evidence.checks.backup.files import read_files
from ops_evidence.checks.backup.http import read_http
from ops_evidence.checks.backup.pgbackrest import observation_from_info, read_pgbackrest
from ops_evidence.checks.backup.restic import read_restic
from ops_evidence.inventory.checks import (
    BorgBackup,
    FilesBackup,
    HttpBackup,
    PgBackRestBackup,
    ResticBackup,
)
from tests import backup_tools
from tests import real_servers as servers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
NOW = datetime.now(UTC)


def restic(repo: Path, password: dict[str, str]) -> ResticBackup:
    """A restic check for `repo` with a password reference."""
    return ResticBackup.model_validate(
        {"kind": "restic", "repository": str(repo), "password": password}
    )


async def test_restic_fresh_snapshot(restic_fresh: Path) -> None:
    """The newest snapshot of a fresh repository is minutes old."""
    seen = await read_restic(
        restic(restic_fresh, {"file": str(restic_fresh.parent / "password")}), timeout=30
    )
    assert seen.failure is None
    assert seen.last_backup_at is not None
    assert NOW - seen.last_backup_at < timedelta(hours=1)


async def test_restic_backdated_snapshot(
    restic_stale: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot taken with `--time` three days ago is read as three days old (password by env)."""
    monkeypatch.setenv("RESTIC_PW", backup_tools.RESTIC_PASSWORD)
    seen = await read_restic(restic(restic_stale, {"env": "RESTIC_PW"}), timeout=30)
    assert seen.last_backup_at is not None
    assert NOW - seen.last_backup_at > timedelta(days=2, hours=23)


async def test_restic_wrong_password(restic_fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong password is `auth_failed`."""
    monkeypatch.setenv("RESTIC_PW", "not-the-password")
    seen = await read_restic(restic(restic_fresh, {"env": "RESTIC_PW"}), timeout=30)
    assert seen.failure is not None
    assert seen.failure.reason == "auth_failed"


async def test_restic_missing_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A repository that does not exist is `tool_failed`."""
    monkeypatch.setenv("RESTIC_PW", "whatever-password")
    seen = await read_restic(restic(tmp_path / "none", {"env": "RESTIC_PW"}), timeout=30)
    assert seen.failure is not None
    assert seen.failure.reason == "tool_failed"


def borg(repo: Path, passphrase: dict[str, str] | None) -> BorgBackup:
    """A borg check for `repo`."""
    return BorgBackup.model_validate(
        {"kind": "borg", "repository": str(repo), "passphrase": passphrase}
    )


async def test_borg_fresh_archive(
    borg_fresh: Path, borg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest archive is recent and reports its original size."""
    monkeypatch.setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    seen = await read_borg(borg(borg_fresh, {"env": "BORG_PW"}), timeout=60)
    assert seen.failure is None
    assert seen.last_backup_at is not None
    assert NOW - seen.last_backup_at < timedelta(hours=1)
    assert seen.size_bytes is not None
    assert seen.size_bytes > 0


async def test_borg_backdated_archive(
    borg_stale: Path, borg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive created with `--timestamp` three days ago reads as three days old (UTC)."""
    monkeypatch.setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    seen = await read_borg(borg(borg_stale, {"env": "BORG_PW"}), timeout=60)
    assert seen.last_backup_at is not None
    assert timedelta(days=2, hours=23) < NOW - seen.last_backup_at < timedelta(days=3, hours=1)


async def test_borg_wrong_passphrase(
    borg_fresh: Path, borg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong passphrase is `auth_failed`, and borg does not prompt."""
    monkeypatch.setenv("BORG_PW", "wrong-passphrase")
    seen = await read_borg(borg(borg_fresh, {"env": "BORG_PW"}), timeout=60)
    assert seen.failure is not None
    assert seen.failure.reason == "auth_failed"


async def test_pgbackrest_full_backup(pgbackrest: backup_tools.PgBackRest) -> None:
    """The real full backup's stop time is recent, no error, with a repository size."""
    check = PgBackRestBackup(kind="pgbackrest", stanza=pgbackrest.stanza, config=pgbackrest.config)
    seen = await read_pgbackrest(check, timeout=60)
    assert seen.failure is None
    assert seen.last_backup_at is not None
    assert NOW - seen.last_backup_at < timedelta(hours=1)
    assert seen.last_run_failed is False
    assert seen.size_bytes is not None
    assert seen.size_bytes > 0
    assert re.fullmatch(r"\d{8}-\d{6}F", seen.archive_name or ""), seen.archive_name  # its label


async def test_pgbackrest_unknown_stanza(pgbackrest: backup_tools.PgBackRest) -> None:
    """A stanza without a repository reports pgBackRest's own status as `backup_status`."""
    check = PgBackRestBackup(kind="pgbackrest", stanza="absent", config=pgbackrest.config)
    seen = await read_pgbackrest(check, timeout=60)
    assert seen.failure is not None
    assert seen.failure.reason in {"backup_status", "stanza_missing"}


def test_pgbackrest_error_flag() -> None:
    """A newest backup with `error: true` is reported as a failed last run."""
    info = [
        {
            "name": "demo",
            "status": {"code": 0, "message": "ok"},
            "backup": [
                {"timestamp": {"start": 1, "stop": 100}, "error": False, "info": {"size": 10}},
                {"timestamp": {"start": 200, "stop": 300}, "error": True, "info": {"size": 20}},
            ],
        }
    ]
    seen = observation_from_info(info, "demo")
    assert seen.last_run_failed is True
    assert seen.size_bytes == 20


def test_pgbackrest_odd_json() -> None:
    """JSON of an unexpected shape is `bad_json`."""
    seen = observation_from_info([{"name": "demo", "status": "?"}], "demo")
    assert seen.failure is not None
    assert seen.failure.reason == "bad_json"


async def test_files_newest(tmp_path: Path) -> None:
    """The newest matching file's mtime and size are reported."""
    old, new = tmp_path / "a.tar", tmp_path / "b.tar"
    old.write_bytes(b"x" * 10)
    new.write_bytes(b"x" * 20)
    os.utime(old, (NOW.timestamp() - 86400, NOW.timestamp() - 86400))
    (tmp_path / "c.log").write_text("not a backup")
    seen = await read_files(FilesBackup(kind="files", path=tmp_path, pattern="*.tar"))
    assert seen.size_bytes == 20
    assert seen.backup_count == 2


async def test_files_missing_folder(tmp_path: Path) -> None:
    """A folder that does not exist is `path_missing`."""
    seen = await read_files(FilesBackup(kind="files", path=tmp_path / "none"))
    assert seen.failure is not None
    assert seen.failure.reason == "path_missing"


async def test_http_status_endpoint(nginx: servers.Nginx) -> None:
    """A JSON status endpoint yields the timestamp, size and success fields."""
    check = HttpBackup.model_validate(
        {
            "kind": "http",
            "url": f"http://127.0.0.1:{nginx.http}/backup-status",
            "size_field": "size",
            "success_field": "ok",
        }
    )
    seen = await read_http(check, timeout=5)
    assert seen.failure is None
    assert seen.size_bytes == 4096
    assert seen.last_run_failed is False


async def test_http_bad_json(nginx: servers.Nginx) -> None:
    """A status endpoint that does not answer JSON is `bad_json`."""
    check = HttpBackup.model_validate(
        {"kind": "http", "url": f"http://127.0.0.1:{nginx.http}/not-json"}
    )
    seen = await read_http(check, timeout=5)
    assert seen.failure is not None
    assert seen.failure.reason == "bad_json"

"""Contract suite for the backup readers: every `READERS` entry, through the one seam
(`read_backup`), against a real repository of its tool (restic, borg, pgBackRest), a real
folder, or real nginx.

Each reader's three cases are built in `case` alone. Per-tool details (sizes, backdated
backups, wrong passwords, pgBackRest's status codes) stay in test_backups.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import TypeAdapter

from ops_evidence.checks.backup.readers import READERS, ReadOptions, read_backup
from ops_evidence.inventory.checks import BackupCheck
from tests import backup_tools
from tests import real_servers as servers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
OPTIONS = ReadOptions(timeout=60)


@dataclass(frozen=True)
class Case:
    """One reader's checks: a store with one backup made just now, a store that does not
    exist, and a source that answers something other than what the reader parses."""

    fresh: Any
    absent: Any
    odd: Any
    odd_reason: str


def _check(document: dict[str, Any]) -> Any:
    """An inventory backup check, validated as the loader would."""
    return TypeAdapter(BackupCheck).validate_python(document)


def _restic(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    repo: Path = request.getfixturevalue("restic_fresh")
    password = {"file": str(repo.parent / "password")}
    fresh = {"kind": "restic", "repository": str(repo), "password": password}
    return Case(
        _check(fresh),
        _check({**fresh, "repository": str(tmp_path / "none")}),
        _check({**fresh, "binary": "/bin/echo"}),
        "bad_json",
    )


def _borg(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    repo: Path = request.getfixturevalue("borg_fresh")
    request.getfixturevalue("borg_home")
    request.getfixturevalue("monkeypatch").setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    fresh = {"kind": "borg", "repository": str(repo), "passphrase": {"env": "BORG_PW"}}
    return Case(
        _check(fresh),
        _check({**fresh, "repository": str(tmp_path / "none")}),
        _check({**fresh, "binary": "/bin/echo"}),
        "bad_json",
    )


def _pgbackrest(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    repo: backup_tools.PgBackRest = request.getfixturevalue("pgbackrest")
    fresh = {"kind": "pgbackrest", "stanza": repo.stanza, "config": str(repo.config)}
    return Case(
        _check(fresh),
        _check({**fresh, "stanza": "absent"}),
        _check({**fresh, "binary": "/bin/echo"}),
        "bad_json",
    )


def _files(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "db.tar").write_bytes(b"x" * 100)
    (tmp_path / "not-a-folder").write_text("a file where the folder should be")
    fresh = {"kind": "files", "path": str(tmp_path / "backups"), "pattern": "*.tar"}
    return Case(
        _check(fresh),
        _check({**fresh, "path": str(tmp_path / "none")}),
        _check({**fresh, "path": str(tmp_path / "not-a-folder")}),
        "path_missing",
    )


def _http(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    nginx: servers.Nginx = request.getfixturevalue("nginx")
    base = f"http://127.0.0.1:{nginx.http}"
    return Case(
        _check({"kind": "http", "url": f"{base}/backup-status"}),
        _check({"kind": "http", "url": f"{base}/no-such-status"}),
        _check({"kind": "http", "url": f"{base}/not-json"}),
        "bad_json",
    )


BUILDERS = {
    "restic": _restic,
    "borg": _borg,
    "pgbackrest": _pgbackrest,
    "files": _files,
    "http": _http,
}


@pytest.fixture(params=sorted(BUILDERS))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    """Every reader's cases; only that reader's real repository or server is started."""
    return BUILDERS[request.param](request, tmp_path)


def test_every_backup_kind_of_the_inventory_has_one_reader() -> None:
    """`READERS` has exactly the backup check kinds the inventory accepts, and the suite
    covers every reader: a new kind cannot be loaded without a reader, nor left untested."""
    union = get_args(BackupCheck)[0]
    kinds = {get_args(model.model_fields["kind"].annotation)[0] for model in get_args(union)}
    assert set(READERS) == kinds
    assert set(BUILDERS) == kinds


async def test_a_backup_made_just_now_is_read_as_recent_and_not_failed(case: Case) -> None:
    """A store holding one backup made just now: no failure, its time in UTC and recent,
    the run not reported failed, and at least one backup counted where counts are known."""
    seen = await read_backup(case.fresh, OPTIONS)
    assert seen.failure is None
    assert seen.last_backup_at is not None
    assert seen.last_backup_at.utcoffset() == timedelta(0)
    assert timedelta(minutes=-1) < datetime.now(UTC) - seen.last_backup_at < timedelta(hours=1)
    assert seen.last_run_failed is not True
    assert seen.backup_count is None or seen.backup_count >= 1


async def test_a_store_that_does_not_exist_is_a_failure_not_an_exception(case: Case) -> None:
    """A repository, stanza, folder or status page that is not there is reported as a
    failure with a reason and a message, and no backup time."""
    seen = await read_backup(case.absent, OPTIONS)
    assert seen.failure is not None
    assert seen.failure.reason
    assert seen.failure.message
    assert seen.last_backup_at is None


async def test_an_answer_the_reader_cannot_parse_is_a_named_failure(case: Case) -> None:
    """A tool (here `echo`) or endpoint that answers something else, or a file where the
    folder should be, is a failure with its own reason, never a crash or a made-up time."""
    seen = await read_backup(case.odd, OPTIONS)
    assert seen.failure is not None
    assert seen.failure.reason == case.odd_reason
    assert seen.last_backup_at is None

"""`ops-backup-verified` against real restic, borg and pgBackRest repositories."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ops_evidence.events.types import BackupVerified
from tests import backup_tools
from tests import real_servers as servers
from tests.probes.inventories import inventory, probe

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def verify(
    check: dict[str, Any], later: timedelta | None = None, **more: Any
) -> BackupVerified:
    """Probe backup `b` (max age 26h by default) with the given check settings."""
    spec = {"id": "b", "environment": "local", "store": "db", "check": check, **more}
    event = await probe(inventory(backups=[spec]), "backup:b", later=later)
    assert isinstance(event, BackupVerified)
    return event


def restic(repo: Path, **more: Any) -> dict[str, Any]:
    """restic settings with the password file made by the fixture."""
    return {
        "kind": "restic",
        "repository": str(repo),
        "password": {"file": str(repo.parent / "password")},
        **more,
    }


async def test_restic_fresh(restic_fresh: Path) -> None:
    """A snapshot taken now verifies."""
    event = await verify(restic(restic_fresh))
    assert event.attributes.verified, event.attributes.message
    assert event.attributes.tool == "restic"
    assert event.attributes.age_seconds is not None
    assert event.attributes.age_seconds < 3600


async def test_restic_backdated(restic_stale: Path) -> None:
    """A snapshot three days old fails a 26h maximum as `too_old`."""
    event = await verify(restic(restic_stale))
    assert event.attributes.reason == "too_old"


async def test_restic_wrong_password(restic_fresh: Path, tmp_path: Path) -> None:
    """A wrong password is `auth_failed`."""
    wrong = tmp_path / "wrong"
    wrong.write_text("definitely-not-it")
    event = await verify({**restic(restic_fresh), "password": {"file": str(wrong)}})
    assert event.attributes.reason == "auth_failed"


async def test_missing_tool(restic_fresh: Path) -> None:
    """A restic binary that is not installed is `tool_missing`."""
    event = await verify(restic(restic_fresh, binary="restic-not-installed"))
    assert event.attributes.reason == "tool_missing"


def borg(repo: Path) -> dict[str, Any]:
    """borg settings with the passphrase from BORG_PW."""
    return {"kind": "borg", "repository": str(repo), "passphrase": {"env": "BORG_PW"}}


async def test_borg_fresh_and_min_size(
    borg_fresh: Path, borg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh archive verifies; a minimum size above its size is `too_small`."""
    monkeypatch.setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    event = await verify(borg(borg_fresh))
    assert event.attributes.verified, event.attributes.message
    assert event.attributes.size_bytes
    small = await verify(borg(borg_fresh), min_size=event.attributes.size_bytes + 1)
    assert small.attributes.reason == "too_small"


async def test_borg_backdated(
    borg_stale: Path, borg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive three days old is `too_old`."""
    monkeypatch.setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    event = await verify(borg(borg_stale))
    assert event.attributes.reason == "too_old"


async def test_borg_unset_passphrase(borg_fresh: Path, borg_home: Path) -> None:
    """An unset passphrase variable is `secret_unavailable`."""
    event = await verify(borg(borg_fresh))
    assert event.attributes.reason == "secret_unavailable"


async def test_pgbackrest(pgbackrest: backup_tools.PgBackRest) -> None:
    """The real full backup verifies now and is `too_old` two days later."""
    check = {"kind": "pgbackrest", "stanza": pgbackrest.stanza, "config": str(pgbackrest.config)}
    event = await verify(check)
    assert event.attributes.verified, event.attributes.message
    assert event.attributes.last_run_failed is False
    later = await verify(check, later=timedelta(days=2))
    assert later.attributes.reason == "too_old"


async def test_files_empty_folder(tmp_path: Path) -> None:
    """An empty backup folder is `no_backup`."""
    event = await verify({"kind": "files", "path": str(tmp_path)})
    assert event.attributes.reason == "no_backup"


async def test_http_status_endpoint(nginx: servers.Nginx) -> None:
    """A JSON status endpoint with a fresh timestamp and `ok: true` verifies."""
    event = await verify(
        {
            "kind": "http",
            "url": f"http://127.0.0.1:{nginx.http}/backup-status",
            "size_field": "size",
            "success_field": "ok",
        }
    )
    assert event.attributes.verified, event.attributes.message
    assert event.attributes.size_bytes == 4096

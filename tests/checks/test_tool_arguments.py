"""Credentials reach backup tools by environment or file, never on the command line.

A fake tool (a shell script standing in for restic / borg) records the argv and environment
it was given and prints valid, empty JSON.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_evidence.checks.backup.borg import read_borg
from ops_evidence.checks.backup.restic import read_restic
from ops_evidence.inventory.checks import BorgBackup, ResticBackup

pytestmark = pytest.mark.anyio

PASSWORD = "canary-argv-Passw0rd-4411"


def fake_tool(folder: Path, output: str) -> Path:
    """A script that writes its argv and environment to files and prints `output`."""
    script = folder / "fake-tool"
    script.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {folder}/argv\nenv > {folder}/env\necho \'{output}\'\n'
    )
    script.chmod(0o755)
    return script


async def test_restic_password_file_not_argv(tmp_path: Path) -> None:
    """restic gets RESTIC_PASSWORD_FILE; neither the password nor its file is in argv."""
    secret = tmp_path / "password"
    secret.write_text(PASSWORD)
    check = ResticBackup.model_validate(
        {
            "kind": "restic",
            "repository": "/srv/restic",
            "password": {"file": str(secret)},
            "binary": str(fake_tool(tmp_path, "[]")),
        }
    )
    seen = await read_restic(check, timeout=10)
    assert seen.backup_count == 0
    argv = (tmp_path / "argv").read_text()
    assert PASSWORD not in argv
    assert "password" not in argv
    assert "--no-lock" in argv
    assert f"RESTIC_PASSWORD_FILE={secret}" in (tmp_path / "env").read_text()


async def test_borg_passphrase_env_not_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """borg gets BORG_PASSPHRASE and TZ=UTC in its environment; argv has neither secret nor repo."""
    monkeypatch.setenv("BORG_PW", PASSWORD)
    check = BorgBackup.model_validate(
        {
            "kind": "borg",
            "repository": "/srv/borg",
            "passphrase": {"env": "BORG_PW"},
            "binary": str(fake_tool(tmp_path, '{"archives": []}')),
        }
    )
    seen = await read_borg(check, timeout=10)
    assert seen.backup_count == 0
    assert PASSWORD not in (tmp_path / "argv").read_text()
    env = (tmp_path / "env").read_text()
    assert "TZ=UTC" in env
    assert "BORG_REPO=/srv/borg" in env


async def test_tool_printing_garbage_is_bad_json(tmp_path: Path) -> None:
    """A tool that prints something other than JSON is `bad_json`, and it is not stored."""
    secret = tmp_path / "password"
    secret.write_text(PASSWORD)
    check = ResticBackup.model_validate(
        {
            "kind": "restic",
            "repository": "/srv/restic",
            "password": {"file": str(secret)},
            "binary": str(fake_tool(tmp_path, "not json")),
        }
    )
    seen = await read_restic(check, timeout=10)
    assert seen.failure is not None
    assert seen.failure.reason == "bad_json"
    assert "not json" not in seen.failure.message

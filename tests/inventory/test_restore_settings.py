"""A backup's `restore:` drill settings: a scratch that is or sits inside a live location is
refused when the inventory loads, naming file, line, backup and both paths; a setting the
backup's tool has no use for is refused too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops_evidence.errors import ConfigError
from ops_evidence.inventory import load_inventory


def write(tmp_path: Path, check: dict[str, Any], restore: dict[str, Any]) -> Path:
    """An inventory file with one backup and its drill."""
    backup = {"id": "db", "environment": "local", "store": "db", "check": check}
    data = {
        "version": 1,
        "environments": [{"id": "local", "role": "test"}],
        "backups": [{**backup, "restore": restore}],
    }
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def refusal(path: Path) -> str:
    """The rendered load error of `path`."""
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    return caught.value.render()


RESTIC = {"kind": "restic", "repository": "/srv/restic", "password": {"env": "PW"}}


@pytest.mark.parametrize(
    ("check", "restore", "live"),
    [
        ({"kind": "files", "path": "/srv/dumps"}, {"scratch": "/srv/dumps/scratch"}, "/srv/dumps"),
        (RESTIC, {"scratch": "/srv/restic"}, "/srv/restic"),
        (RESTIC, {"scratch": "/srv/restic/../restic/tmp"}, "/srv/restic"),
        (
            {"kind": "borg", "repository": "/srv/borg"},
            {"scratch": "/var/lib/postgresql/15/main/x", "live_paths": ["/var/lib/postgresql"]},
            "/var/lib/postgresql",
        ),
        (RESTIC, {"scratch": "/srv/app/x", "verify_checksums": ["/srv/app"]}, "/srv/app"),
        (
            {"kind": "borg", "repository": "file:///srv/borg"},
            {"scratch": "/srv/borg/tmp"},
            "/srv/borg",
        ),
        (
            {"kind": "borg", "repository": "~/borg"},
            {"scratch": "/home/ops/borg/tmp"},
            "/home/ops/borg",
        ),
    ],
)
def test_scratch_in_a_live_location_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    check: dict[str, Any],
    restore: dict[str, Any],
    live: str,
) -> None:
    """The drill's scratch equals or sits inside a backup folder, a local repository (borg's
    `file://` and `~/` forms too), a declared live path or a checksum source: a load error
    naming the file, the line of `restore:`, the backup and both paths."""
    monkeypatch.setenv("HOME", "/home/ops")
    path = write(tmp_path, check, restore)
    lines = path.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.strip().startswith("restore:"))
    text = refusal(path)
    assert f"{path}:{line}: backups[0] (db).restore: scratch" in text
    assert f"the live location {live};" in text


def test_a_remote_repository_is_not_a_live_location(tmp_path: Path) -> None:
    """An sftp: repository is on another machine: a local scratch of the same path is fine,
    and the drill keeps its defaults (7 days, 30 minutes, 10 GiB)."""
    check = {**RESTIC, "repository": "sftp:backup@host:/srv/restic"}
    inv = load_inventory(write(tmp_path, check, {"scratch": "/srv/restic/scratch"}))
    drill = inv.backups[0].restore
    assert drill is not None
    assert (drill.interval, drill.timeout) == (timedelta(days=7), timedelta(minutes=30))
    assert drill.max_size == 10 * 2**30


@pytest.mark.parametrize(
    ("check", "restore", "message"),
    [
        (RESTIC, {"dry_run": True}, "restore: dry_run do not apply to restic"),
        ({"kind": "borg", "repository": "/b"}, {"include": ["/x"]}, "include do not apply"),
        ({"kind": "files", "path": "/d"}, {"read_data_subset": "5%"}, "read_data_subset do not"),
        ({"kind": "http", "url": "https://b.test/s"}, {}, "no restore drill for `http` backups"),
        (RESTIC, {"read_data_subset": "all"}, "String should match pattern"),
        (RESTIC, {"verify_checksums": ["relative/file"]}, "must be an absolute path"),
        (RESTIC, {"scratch": "scratch"}, "(db).restore.scratch: must be an absolute path"),
        (RESTIC, {"live_paths": ["db"]}, "restore.live_paths[0]: must be an absolute path"),
        ({"kind": "files", "path": "/d"}, {"command": "gzip -t"}, "Input should be a valid list"),
    ],
)
def test_a_setting_the_tool_cannot_use_is_refused(
    tmp_path: Path, check: dict[str, Any], restore: dict[str, Any], message: str
) -> None:
    """Tool-specific drill settings on another tool, a drill for an http status endpoint, a
    malformed subset, a relative checksum source, scratch or live path and a shell string
    command are refused."""
    assert message in refusal(write(tmp_path, check, restore))

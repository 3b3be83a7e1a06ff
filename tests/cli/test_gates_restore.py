"""`gates --observe` on an inventory whose three G07 stores are backed up by real restic,
borg and files backups with restore drills: OPS-G07 is `ready` from evidence alone, no
manual part, no canary secret in the output, nothing left in scratch; with a publishing
registry endpoint too (the real token-auth docker-registry), G05 and G07 are both ready."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import backup_tools
from tests import real_servers as servers
from tests.cli.test_gates_publish import write_inventory
from tests.realfixtures import TokenRegistry
from tests.support import require_tool, run_cli

pytestmark = pytest.mark.integration


def _backups(tmp_path: Path) -> list[dict[str, Any]]:
    restic = backup_tools.restic_repo(_folder(tmp_path, "r"), require_tool("restic"), when=None)
    borg_bin = require_tool("borg", "borgbackup")
    borg = backup_tools.borg_repo(_folder(tmp_path, "b"), borg_bin, when=None)
    dumps = _folder(tmp_path, "dumps")
    (dumps / "state-hub.sql.gz").write_bytes(gzip.compress(b"insert into t values (1);\n"))
    backups = [
        {
            "id": "gitea-db-restic",
            "store": "gitea-db",
            "check": {"kind": "restic", "repository": str(restic), "password": {"env": "RPW"}},
            "restore": {"read_data_subset": "100%"},
        },
        {
            "id": "blobs-borg",
            "store": "gitea-shared-storage",
            "check": {"kind": "borg", "repository": str(borg), "passphrase": {"env": "BPW"}},
            "restore": {},
        },
        {
            "id": "state-hub-dumps",
            "store": "state-hub-data",
            "check": {"kind": "files", "path": str(dumps), "pattern": "*.sql.gz"},
            "restore": {"max_size": "1MiB"},
        },
    ]
    return [{**b, "environment": "local"} for b in backups]


def _inventory(tmp_path: Path) -> Path:
    data = {
        "version": 1,
        "environments": [{"id": "local", "role": "test"}],
        "backups": _backups(tmp_path),
    }
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def _env(tmp_path: Path) -> dict[str, str]:
    """The repositories' secrets (canaries) by variable, borg's state in the test folder."""
    return {
        "RPW": backup_tools.RESTIC_PASSWORD,
        "BPW": backup_tools.BORG_PASSPHRASE,
        "BORG_BASE_DIR": str(tmp_path / "b" / "borg-base"),
    }


def test_g07_ready_from_restore_drills(tmp_path: Path) -> None:
    """Each named store's drill passes, so G07 is ready, decided by evidence."""
    inventory = _inventory(tmp_path)
    state = tmp_path / "state"
    env = _env(tmp_path)
    env["OPS_EVIDENCE_STATE_DIR"] = str(state)
    result = run_cli(
        ["gates", "--inventory", str(inventory), "--observe", "--json"], env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    gates = {g["gate"]: g for g in json.loads(result.stdout)["gates"]}
    g07 = gates["OPS-G07"]
    assert (g07["status"], g07["decided_by"]) == ("ready", "evidence"), g07["reasons"]
    assert g07["reasons"] == ["all 3 stores needing a restore drill meet the requirement"]
    for canary in (backup_tools.RESTIC_PASSWORD, backup_tools.BORG_PASSPHRASE):
        assert canary not in result.stdout + result.stderr
    assert list((state / "restore-scratch").iterdir()) == []


def test_g05_and_g07_ready_on_a_fully_evidenced_inventory(
    token_registry: TokenRegistry, tmp_path: Path
) -> None:
    """A registry endpoint publishing to the real token-auth docker-registry and the three
    drilled backups: `gates --observe` shows G05 and G07 ready, neither with manual evidence."""
    data = yaml.safe_load(write_inventory(tmp_path, token_registry.registry).read_text())
    data["backups"] = _backups(tmp_path)
    inventory = tmp_path / "full.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    env = {**_env(tmp_path), "OPS_EVIDENCE_STATE_DIR": str(tmp_path / "state")}
    result = run_cli(
        ["gates", "--inventory", str(inventory), "--observe", "--json"], env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    gates = {g["gate"]: g for g in json.loads(result.stdout)["gates"]}
    for gate in (gates["OPS-G05"], gates["OPS-G07"]):
        assert (gate["status"], gate["decided_by"]) == ("ready", "evidence"), gate
        assert gate["manual_evidence"] is None
    for canary in (
        backup_tools.RESTIC_PASSWORD,
        backup_tools.BORG_PASSPHRASE,
        servers.REGISTRY_PASSWORD,
        *token_registry.issuer.issued,
    ):
        assert canary not in result.stdout + result.stderr

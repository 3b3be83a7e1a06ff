"""`ops-evidence gates --observe` and `run --once` on an inventory whose registry endpoint
declares `publish:` against the real docker-registry in token mode: G05 `ready` from evidence
alone, and no password or token in the output, the logs or the state directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import real_servers as servers
from tests.cli.rollout_support import canary_hub, hub_env
from tests.realfixtures import TokenRegistry
from tests.support import run_cli

pytestmark = pytest.mark.integration

INVENTORY = """version: 1
environments: [{{id: local, role: test, lifecycle: active, owner: ops}}]
services: [{{id: registry, environment: local, owner_repo: ops, lifecycle: active}}]
endpoints:
  - id: registry
    service: registry
    url: https://127.0.0.1:{port}/v2/
    ca_file: {ca}
    timeout: 30s
    expect: {{status: 401, headers: {{Docker-Distribution-Api-Version: registry/2.0}}}}
    publish:
      repository: ops-evidence/scratch
      username: {user}
      password: {{file: {password}}}
"""


def write_inventory(folder: Path, registry: servers.Registry) -> Path:
    """The inventory, its password file beside it (outside the state directory)."""
    password = folder / "registry-password"
    password.write_text(servers.REGISTRY_PASSWORD + "\n")
    path = folder / "inventory.yaml"
    path.write_text(
        INVENTORY.format(
            port=registry.port, ca=registry.ca_file, user=servers.REGISTRY_USER, password=password
        )
    )
    return path


def test_g05_ready_from_a_publish_and_no_secret_anywhere(
    token_registry: TokenRegistry, tmp_path: Path
) -> None:
    """gates --observe: G05 ready, decided by evidence, with no manual entry; then run --once
    delivers to an emulator. Neither the password nor any issued token is in stdout, stderr
    (debug logs) or any file the runs left in the state directory."""
    inventory = write_inventory(tmp_path, token_registry.registry)
    state = tmp_path / "state"
    env = {"OPS_EVIDENCE_STATE_DIR": str(state), "OPS_EVIDENCE_LOG_LEVEL": "debug"}
    gates = run_cli(["gates", "--inventory", str(inventory), "--observe", "--json"], env)
    assert gates.returncode == 0, gates.stderr
    g05 = next(g for g in json.loads(gates.stdout)["gates"] if g["gate"] == "OPS-G05")
    assert (g05["status"], g05["decided_by"]) == ("ready", "evidence"), g05
    assert g05["reasons"] == ["all 1 registry checks meet the requirement"]
    assert g05["manual_evidence"] is None
    with canary_hub() as base_url:
        run_env = {**hub_env(base_url), **env}
        once = run_cli(["run", "--inventory", str(inventory), "--once"], run_env, timeout=120)
    assert "endpoint:registry" in once.stdout, once.stderr
    assert "Traceback" not in once.stderr
    assert token_registry.issuer.issued
    written = [p.read_bytes().decode(errors="replace") for p in state.rglob("*") if p.is_file()]
    assert written  # the outbox at least
    haystack = "\n".join([gates.stdout, gates.stderr, once.stdout, once.stderr, *written])
    for canary in (servers.REGISTRY_PASSWORD, *token_registry.issuer.issued):
        assert canary not in haystack

"""`ops-evidence probe`: one probe now, its event printed, exit code by verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import real_servers as servers
from tests.conftest import EXAMPLE_INVENTORY
from tests.support import run_cli

pytestmark = pytest.mark.integration


def write_inventory(folder: Path, url: str) -> Path:
    """An inventory with one endpoint at `url` expecting the registry's 401."""
    path = folder / "inventory.yaml"
    path.write_text(
        "version: 1\nenvironments: [{id: local, role: test}]\n"
        "services: [{id: web, environment: local}]\n"
        f"endpoints: [{{id: reg, service: web, url: '{url}', expect: {{status: 401, headers: "
        "{Docker-Distribution-Api-Version: registry/2.0}}}]\n"
    )
    return path


def test_probe_prints_the_event_as_json(nginx: servers.Nginx, tmp_path: Path) -> None:
    """A verified probe exits 0 and prints its event as JSON."""
    inv = write_inventory(tmp_path, f"http://127.0.0.1:{nginx.http}/v2/")
    done = run_cli(["probe", "endpoint:reg", "--inventory", str(inv), "--json"])
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout)
    assert event["event_type"] == "ops-endpoint-verified"
    assert (
        event["attributes"]["observed_headers"]["Docker-Distribution-Api-Version"] == "registry/2.0"
    )


def test_probe_not_verified_exits_1(tmp_path: Path) -> None:
    """A probe that ran but did not verify exits 1 and prints a table with the reason."""
    inv = write_inventory(tmp_path, f"http://127.0.0.1:{servers.free_port()}/v2/")
    done = run_cli(["probe", "endpoint:reg", "--inventory", str(inv)])
    assert done.returncode == 1
    assert "connection_refused" in done.stdout


def test_drift_probes_its_environment_first(nginx: servers.Nginx, tmp_path: Path) -> None:
    """Probing `environment:<id>` observes that environment's entities, then compares."""
    inv = write_inventory(tmp_path, f"http://127.0.0.1:{nginx.http}/v2/")
    done = run_cli(["probe", "environment:local", "--inventory", str(inv), "--json"])
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["attributes"]["summary"] == {
        "changed": 0,
        "missing": 0,
        "unmanaged": 0,
    }


def test_unknown_context_key_is_usage_error() -> None:
    """A context key that is not in the plan exits 64 with a pointer to `validate`."""
    done = run_cli(["probe", "endpoint:nope", "--inventory", str(EXAMPLE_INVENTORY)])
    assert done.returncode == 64
    assert "validate" in done.stderr

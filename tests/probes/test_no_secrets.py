"""No credential used by a probe appears in any event or log line."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from ops_evidence.inventory import Inventory
from ops_evidence.logging import configure_logging
from ops_evidence.probes import ProbeContext, plan, run_probe
from tests import backup_tools
from tests import real_servers as servers
from tests.probes.inventories import inventory

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

CANARIES = (
    servers.REGISTRY_PASSWORD,
    servers.KUBE_TOKEN,
    backup_tools.RESTIC_PASSWORD,
    backup_tools.BORG_PASSPHRASE,
)


async def test_credentials_never_leak(
    registry: servers.Registry,
    nginx: servers.Nginx,
    certs: servers.Certs,
    restic_fresh: Path,
    borg_fresh: Path,
    borg_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every probe using a credential, passing and failing, leaves none in events or logs."""
    monkeypatch.setenv("REG_PW", servers.REGISTRY_PASSWORD)
    monkeypatch.setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    token = tmp_path / "token"
    token.write_text(servers.KUBE_TOKEN)
    inv = _credentialed_inventory(registry, nginx, certs, restic_fresh, borg_fresh, token)
    stream = io.StringIO()
    configure_logging("debug", "json", stream)
    ctx = ProbeContext(inv)
    events = [await run_probe(ctx, target) for target in plan(inv)]
    verdicts = {e.context_key: e.attributes.verified for e in events}
    assert verdicts["endpoint:login"]  # 200 once logged in
    assert verdicts["endpoint:wrong"] is False
    assert verdicts["access-path:k8s"]
    assert verdicts["backup:restic"]
    assert verdicts["backup:borg"]
    text = "\n".join(e.model_dump_json() for e in events) + stream.getvalue()
    assert "probe_failed" in stream.getvalue()
    for canary in CANARIES:
        assert canary not in text


def _credentialed_inventory(
    registry: servers.Registry,
    nginx: servers.Nginx,
    certs: servers.Certs,
    restic_fresh: Path,
    borg_fresh: Path,
    token: Path,
) -> Inventory:
    """One probe per kind of credential: basic auth (passing and failing), a bearer token
    file, a restic password file and a borg passphrase from the environment."""
    reg = f"https://127.0.0.1:{registry.port}/v2/"
    auth = {"username": servers.REGISTRY_USER, "password": {"env": "REG_PW"}}
    return inventory(
        endpoints=[
            {
                "id": "login",
                "service": "web",
                "url": reg,
                "ca_file": str(registry.ca_file),
                "basic_auth": auth,
            },
            {
                "id": "wrong",
                "service": "web",
                "url": reg,
                "ca_file": str(registry.ca_file),
                "basic_auth": auth,
                "expect": {"status": 418},
            },
        ],
        access_paths=[
            {
                "id": "k8s",
                "environment": "local",
                "check": {
                    "kind": "kubernetes-api",
                    "url": f"https://127.0.0.1:{nginx.valid}",
                    "token": {"file": str(token)},
                    "ca_file": str(certs.ca_file),
                },
            }
        ],
        backups=_backups(restic_fresh, borg_fresh),
    )


def _backups(restic_fresh: Path, borg_fresh: Path) -> list[dict[str, Any]]:
    """A restic repository opened by a password file, a borg one by an environment variable."""
    return [
        {
            "id": "restic",
            "environment": "local",
            "store": "db",
            "check": {
                "kind": "restic",
                "repository": str(restic_fresh),
                "password": {"file": str(restic_fresh.parent / "password")},
            },
        },
        {
            "id": "borg",
            "environment": "local",
            "store": "files",
            "check": {
                "kind": "borg",
                "repository": str(borg_fresh),
                "passphrase": {"env": "BORG_PW"},
            },
        },
    ]

"""Identifiers and public headers survive redaction through the real probe paths: drift sees
a change between two commit-hash versions, and the registry's challenge is quoted whole."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from ops_evidence.events.types import (
    BackupVerified,
    EndpointVerified,
    InventoryDrift,
    ServiceObserved,
)
from ops_evidence.events.wire import event_attributes
from ops_evidence.probes import ProbeContext
from tests import backup_tools
from tests import real_servers as servers
from tests.probes.inventories import inventory, probe
from tests.servers import serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

DECLARED = "f" * 40
OBSERVED = "5101eb5" + "0" * 33


async def _health(scope: Scope, receive: Receive, send: Send) -> None:
    """A service's health URL reporting the commit it was built from."""
    await receive()
    body = json.dumps({"status": "ok", "version": OBSERVED}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def test_drift_reports_a_changed_commit_version() -> None:
    """Declared `f…f` and observed `5101eb5…` (both 40 hex) are one `changed` record with
    both values, in the event and in what the sinks receive."""
    with serve_asgi(_health) as base_url:
        inv = inventory(
            services=[
                {
                    "id": "api",
                    "environment": "local",
                    "version": DECLARED,
                    "check": {
                        "kind": "http",
                        "url": f"{base_url}/health",
                        "version": {"json_field": "version"},
                    },
                }
            ]
        )
        ctx = ProbeContext(inv)
        observed = await probe(inv, "service:api", ctx=ctx)
    assert isinstance(observed, ServiceObserved)
    assert observed.attributes.observed_version == OBSERVED
    assert observed.attributes.declared_version == DECLARED
    drift = await probe(inv, "environment:local", ctx=ctx)
    assert isinstance(drift, InventoryDrift)
    assert drift.attributes.summary.changed == 1
    [record] = [r for r in drift.attributes.records if r.attribute == "version"]
    assert (record.kind, record.declared, record.observed) == ("changed", DECLARED, OBSERVED)
    [wire] = [r for r in event_attributes(drift)["records"] if r["attribute"] == "version"]
    assert (wire["declared"], wire["observed"]) == (DECLARED, OBSERVED)


async def test_the_registry_challenge_is_quoted_whole(registry: servers.Registry) -> None:
    """`WWW-Authenticate` is on the allow-list: its scheme and realm reach the event and the
    wire although its name holds `auth` and its value follows a scheme word."""
    url = f"https://127.0.0.1:{registry.port}/v2/"
    ep = {"id": "reg", "service": "web", "url": url, "ca_file": str(registry.ca_file)}
    event = await probe(inventory(endpoints=[{**ep, "expect": {"status": 401}}]), "endpoint:reg")
    assert isinstance(event, EndpointVerified)
    challenge = event.attributes.observed_headers.get("Www-Authenticate", "")
    assert challenge.startswith("Basic realm=")
    assert "[REDACTED]" not in challenge
    assert event_attributes(event)["observed_headers"]["Www-Authenticate"] == challenge


async def _backup(check: dict[str, Any]) -> BackupVerified:
    spec = {"id": "b", "environment": "local", "store": "db", "check": check}
    event = await probe(inventory(backups=[spec]), "backup:b")
    assert isinstance(event, BackupVerified)
    return event


def _restic_snapshot_id(repo: Path) -> str:
    """The id restic itself gives the repository's only snapshot."""
    env = {**os.environ, "RESTIC_REPOSITORY": str(repo)}
    env["RESTIC_PASSWORD_FILE"] = str(repo.parent / "password")
    argv = ["restic", "--no-cache", "--no-lock", "snapshots", "--json"]
    done = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
    [snapshot] = json.loads(done.stdout)
    return str(snapshot["id"])


async def test_restic_snapshot_id_is_kept(restic_fresh: Path) -> None:
    """The newest snapshot's 64-hex id is in the event and on the wire, as restic prints it."""
    check = {"kind": "restic", "repository": str(restic_fresh)}
    event = await _backup({**check, "password": {"file": str(restic_fresh.parent / "password")}})
    expected = _restic_snapshot_id(restic_fresh)
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert event.attributes.snapshot_id == expected
    assert event_attributes(event)["snapshot_id"] == expected


async def test_borg_archive_id_and_name_are_kept(
    borg_fresh: Path, borg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest archive's name (`one`, as the fixture made it) and 64-hex id are kept."""
    monkeypatch.setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    check = {"kind": "borg", "repository": str(borg_fresh), "passphrase": {"env": "BORG_PW"}}
    event = await _backup(check)
    assert event.attributes.verified, event.attributes.message
    assert event.attributes.archive_name == "one"
    assert re.fullmatch(r"[0-9a-f]{64}", event.attributes.snapshot_id or "")
    wire = event_attributes(event)
    assert (wire["archive_name"], wire["snapshot_id"]) == ("one", event.attributes.snapshot_id)


async def test_borg_without_a_passphrase_names_the_variable(
    borg_fresh: Path, borg_home: Path
) -> None:
    """borg's own complaint keeps `BORG_PASSPHRASE`: the operator sees what to set."""
    event = await _backup({"kind": "borg", "repository": str(borg_fresh)})
    assert event.attributes.reason == "auth_failed"
    assert "BORG_PASSPHRASE is not set" in (event.attributes.message or "")

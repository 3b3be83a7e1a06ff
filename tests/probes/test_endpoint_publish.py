"""`ops-endpoint-verified` with `publish:`: push, pull and delete against real docker-registry
(htpasswd, deletes on and off, token auth through a test issuer), credentials never shown."""

from __future__ import annotations

import io
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops_evidence.events.types import EndpointVerified, RegistryPublish
from ops_evidence.events.wire import event_attributes
from ops_evidence.logging import configure_logging
from ops_evidence.redact import MASK
from ops_evidence.schedule.timetable import fingerprint
from tests import real_servers as servers
from tests.probes.inventories import inventory, probe
from tests.realfixtures import TokenRegistry

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

SCRATCH = "ops-evidence/scratch"
PUSH_STEPS = ["blob-upload", "blob-put", "config-upload", "config-put", "manifest-put"]


def publishing(
    registry: servers.Registry, password_file: Path, user: str = servers.REGISTRY_USER
) -> dict[str, Any]:
    """A registry endpoint declaring a publish as `user`, password by file reference."""
    return {
        "id": "registry",
        "service": "web",
        "url": f"https://127.0.0.1:{registry.port}/v2/",
        "ca_file": str(registry.ca_file),
        "expect": {"status": 401, "headers": {"Docker-Distribution-Api-Version": "registry/2.0"}},
        "timeout": "30s",
        "publish": {
            "repository": SCRATCH,
            "username": user,
            "password": {"file": str(password_file)},
        },
    }


def secret_file(folder: Path, value: str) -> Path:
    """A password file as an operator would write it (trailing newline)."""
    path = folder / "registry-password"
    path.write_text(value + "\n")
    return path


async def publish_event(endpoint: dict[str, Any]) -> tuple[EndpointVerified, RegistryPublish]:
    """Run the endpoint's probe; its event and the publish in it."""
    event = await probe(inventory(endpoints=[endpoint]), "endpoint:registry")
    assert isinstance(event, EndpointVerified)
    assert event.attributes.publish is not None
    return event, event.attributes.publish


def step(publish: RegistryPublish, name: str) -> Any:
    """The step called `name`."""
    return next(s for s in publish.steps if s.name == name)


async def test_htpasswd_push_pull_delete(
    registry_deletes: servers.Registry, tmp_path: Path
) -> None:
    """Basic auth: pushed, pulled back with matching digests, deleted (202), verified; the
    manifest is gone from the registry afterwards."""
    password = secret_file(tmp_path, servers.REGISTRY_PASSWORD)
    event, publish = await publish_event(publishing(registry_deletes, password))
    assert event.attributes.verified, (event.attributes.message, publish)
    assert publish.verified
    assert publish.reason is None
    assert publish.auth_scheme == "basic"
    assert publish.delete == "deleted"
    names = [s.name for s in publish.steps]
    assert names == ["ping", *PUSH_STEPS, "manifest-get", "blob-get", "delete"]
    assert all(s.ok for s in publish.steps)
    assert publish.manifest_digest is not None
    assert publish.manifest_digest.startswith("sha256:")
    assert step(publish, "manifest-get").digest == publish.manifest_digest
    assert step(publish, "blob-get").digest == publish.blob_digest
    assert step(publish, "delete").status == 202
    assert publish.tag is not None
    assert publish.tag.startswith("ops-evidence-")
    url = f"https://127.0.0.1:{registry_deletes.port}/v2/{SCRATCH}/manifests/{publish.tag}"
    auth = (servers.REGISTRY_USER, servers.REGISTRY_PASSWORD)
    trust = ssl.create_default_context(cafile=str(registry_deletes.ca_file))
    async with httpx.AsyncClient(verify=trust) as client:
        gone = await client.get(url, auth=auth)
    assert gone.status_code == 404


async def test_delete_disabled_is_reported_not_failed(
    registry: servers.Registry, tmp_path: Path
) -> None:
    """A registry with deletes off answers the delete 405: `disabled`, still verified."""
    password = secret_file(tmp_path, servers.REGISTRY_PASSWORD)
    event, publish = await publish_event(publishing(registry, password))
    assert event.attributes.verified, (event.attributes.message, publish)
    assert publish.delete == "disabled"
    assert step(publish, "delete").status == 405
    assert step(publish, "delete").ok


async def test_wrong_password_is_refused(registry: servers.Registry, tmp_path: Path) -> None:
    """A password the registry refuses: not verified, the reason names the first push."""
    password = secret_file(tmp_path, "not-the-password")
    event, publish = await publish_event(publishing(registry, password))
    assert not publish.verified
    assert publish.reason == "push refused: blob upload 401 (unauthorized)"
    assert not event.attributes.verified
    assert event.attributes.reason == "publish_refused"
    assert event.attributes.message == f"publish: {publish.reason}"
    assert publish.delete == "skipped"
    assert publish.manifest_digest is None


async def test_token_auth_push_pull_delete(token_registry: TokenRegistry, tmp_path: Path) -> None:
    """The Bearer flow: a token from the challenge's realm for `pull,push`, re-fetched for the
    delete scope the registry asks for; verified and deleted."""
    password = secret_file(tmp_path, servers.REGISTRY_PASSWORD)
    event, publish = await publish_event(publishing(token_registry.registry, password))
    assert event.attributes.verified, (event.attributes.message, publish)
    assert publish.auth_scheme == "bearer"
    tokens = [s for s in publish.steps if s.name == "token"]
    assert tokens[0].ok
    assert tokens[0].detail == (
        f"asked repository:{SCRATCH}:pull,push; granted repository:{SCRATCH}:pull,push"
    )
    assert publish.granted_scope == f"repository:{SCRATCH}:pull,push"
    # distribution asks for `delete` in a new challenge; the token is fetched again for it.
    assert [s.name for s in publish.steps][-2:] == ["token", "delete"]
    assert publish.delete == "deleted"
    assert step(publish, "ping").detail == "challenge: bearer"


async def test_pull_only_user_is_not_verified(
    token_registry: TokenRegistry, tmp_path: Path
) -> None:
    """The issuer grants the pull-only user `pull` of the `pull,push` asked: the token is
    recorded as granted, the registry refuses the push, and that is the reason."""
    password = secret_file(tmp_path, servers.PULL_ONLY_PASSWORD)
    endpoint = publishing(token_registry.registry, password, user=servers.PULL_ONLY_USER)
    event, publish = await publish_event(endpoint)
    assert not event.attributes.verified
    assert event.attributes.reason == "publish_refused"
    assert publish.granted_scope == f"repository:{SCRATCH}:pull"
    assert publish.reason == "push refused: blob upload 401 (unauthorized)"
    assert step(publish, "blob-upload").status == 401
    assert publish.delete == "skipped"


async def test_a_wrong_password_gets_no_token(
    token_registry: TokenRegistry, tmp_path: Path
) -> None:
    """The realm refuses the credentials: no token, no push attempted, refused, and the
    reason survives redaction whole."""
    password = secret_file(tmp_path, "not-the-password")
    event, publish = await publish_event(publishing(token_registry.registry, password))
    assert (event.attributes.verified, event.attributes.reason) == (False, "publish_refused")
    assert publish.reason == "push refused: the realm gave no token (realm answered 401)"
    assert [s.name for s in publish.steps] == ["ping", "token"]
    assert step(publish, "token").detail == "realm answered 401"


async def test_a_refused_delete_is_reported_not_failed(
    token_registry: TokenRegistry, tmp_path: Path
) -> None:
    """A user granted push and pull but not delete: published and verified, the delete
    `failed` (401) and said so; push and pull are what the check proves."""
    password = secret_file(tmp_path, servers.REGISTRY_PASSWORD)
    endpoint = publishing(token_registry.registry, password, user=servers.NO_DELETE_USER)
    event, publish = await publish_event(endpoint)
    assert event.attributes.verified, (event.attributes.message, publish)
    assert publish.delete == "failed"
    assert step(publish, "delete").status == 401
    assert step(publish, "delete").detail == "failed: 401 (unauthorized)"


async def test_per_address_endpoint_publishes_once(
    registry_deletes: servers.Registry, tmp_path: Path
) -> None:
    """`per_address: true`: the route is probed on each address, the publish runs once for
    the endpoint (one ping, one manifest pushed) and decides its verdict too."""
    password = secret_file(tmp_path, servers.REGISTRY_PASSWORD)
    event, publish = await publish_event(
        {**publishing(registry_deletes, password), "per_address": True}
    )
    assert event.attributes.verified, (event.attributes.message, publish)
    assert [a.address for a in event.attributes.addresses] == ["127.0.0.1"]
    assert [s.name for s in publish.steps].count("ping") == 1
    assert publish.delete == "deleted"
    refused = secret_file(tmp_path, "not-the-password")
    event, publish = await publish_event(
        {**publishing(registry_deletes, refused), "per_address": True}
    )
    assert (event.attributes.verified, event.attributes.reason) == (False, "publish_refused")
    assert event.attributes.addresses[0].verified


async def test_repeated_publishes_are_not_a_change(
    registry_deletes: servers.Registry, tmp_path: Path
) -> None:
    """Two runs push two different images (tags, digests) yet assert the same: the same
    emission fingerprint, so quiet emission does not send every run; a refusal differs."""
    password = secret_file(tmp_path, servers.REGISTRY_PASSWORD)
    endpoint = publishing(registry_deletes, password)
    (first, a), (second, b) = [await publish_event(endpoint) for _ in range(2)]
    assert a.tag != b.tag
    assert a.manifest_digest != b.manifest_digest
    prints = {fingerprint(e.event_type, event_attributes(e)) for e in (first, second)}
    assert len(prints) == 1
    refused, _ = await publish_event(publishing(registry_deletes, secret_file(tmp_path, "x-wrong")))
    assert fingerprint(refused.event_type, event_attributes(refused)) not in prints


async def test_route_failure_is_named_first(registry: servers.Registry, tmp_path: Path) -> None:
    """A wrong route expectation stays the event's reason even when the publish verifies."""
    password = secret_file(tmp_path, servers.REGISTRY_PASSWORD)
    endpoint = {**publishing(registry, password), "expect": {"status": 200}}
    event, publish = await publish_event(endpoint)
    assert publish.verified
    assert not event.attributes.verified
    assert event.attributes.reason == "unexpected_status"


async def test_no_credential_in_events_logs_or_files(
    registry: servers.Registry, token_registry: TokenRegistry, tmp_path: Path
) -> None:
    """Canary passwords and every issued token appear in no event or log line, for passing
    and refused publishes under both auth schemes (files: tests/cli/test_gates_publish.py),
    and redaction masked nothing of the publish evidence."""
    stream = io.StringIO()
    configure_logging("debug", "json", stream)
    runs = [
        (registry, servers.REGISTRY_PASSWORD, servers.REGISTRY_USER),
        (registry, "canary-Wrong-Passw0rd-99aa", servers.REGISTRY_USER),
        (token_registry.registry, servers.REGISTRY_PASSWORD, servers.REGISTRY_USER),
        (token_registry.registry, servers.PULL_ONLY_PASSWORD, servers.PULL_ONLY_USER),
    ]
    texts = []
    for index, (reg, password, user) in enumerate(runs):
        folder = tmp_path / str(index)
        folder.mkdir()
        event, publish = await publish_event(publishing(reg, secret_file(folder, password), user))
        texts.append(event.model_dump_json())
        # Nothing public was masked on the way either (tags, digests, step details, reasons).
        assert MASK not in publish.model_dump_json()
    assert token_registry.issuer.issued
    canaries = [
        servers.REGISTRY_PASSWORD,
        servers.PULL_ONLY_PASSWORD,
        "canary-Wrong-Passw0rd-99aa",
        *token_registry.issuer.issued,
    ]
    haystack = "\n".join([*texts, stream.getvalue()])
    for canary in canaries:
        assert canary not in haystack

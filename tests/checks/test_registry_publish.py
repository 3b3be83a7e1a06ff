"""The publish flow against an in-memory OCI registry that can be told to lie: what real
docker-registry never does (serve other bytes than were pushed, refuse deletes with an
`UNSUPPORTED` error) is still caught and reported."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest

from ops_evidence.checks.registry.publish import PublishResult, publish
from ops_evidence.inventory.checks import RegistryPublishCheck

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
BASE = "https://reg.test"


@dataclass
class FakeRegistry:
    """Blobs and manifests in dicts, no auth; `tamper` serves altered manifest bytes and
    `delete_error` answers deletes with that OCI error code (as a 405 would be)."""

    tamper: bool = False
    delete_error: str | None = None
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/v2/":
            return httpx.Response(200)
        if method == "POST" and path.endswith("/blobs/uploads/"):
            return httpx.Response(202, headers={"Location": f"{path}upload-1?_state=x"})
        if method == "PUT" and "/blobs/uploads/" in path:
            digest = request.url.params["digest"]
            self.blobs[digest] = request.content
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        if "/manifests/" in path:
            return self._manifest(method, path.rsplit("/", 1)[1], request.content)
        if method == "GET" and "/blobs/" in path:
            return httpx.Response(200, content=self.blobs[path.rsplit("/", 1)[1]])
        return httpx.Response(404)

    def _manifest(self, method: str, reference: str, content: bytes) -> httpx.Response:
        if method == "PUT":
            digest = f"sha256:{hashlib.sha256(content).hexdigest()}"
            self.manifests[reference] = self.manifests[digest] = content
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        if method == "DELETE":
            if self.delete_error is not None:
                body = json.dumps({"errors": [{"code": self.delete_error}]})
                return httpx.Response(404, content=body)
            return httpx.Response(202)
        stored = self.manifests[reference]
        return httpx.Response(200, content=stored + (b" " if self.tamper else b""))


async def run(fake: FakeRegistry) -> PublishResult:
    """Publish to `fake` as an anonymous client."""
    check = RegistryPublishCheck(repository="ops/scratch")
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as client:
        return await publish(check, BASE, client, NOW)


async def test_an_honest_registry_without_auth_verifies() -> None:
    """No challenge on `/v2/`: auth `none`, pushed, pulled back, deleted."""
    result = await run(FakeRegistry())
    assert result.failure is None
    assert result.auth_scheme == "none"
    assert result.delete == "deleted"


async def test_other_bytes_read_back_are_a_mismatch() -> None:
    """A manifest read back that does not hash to the digest pushed fails the check with
    `publish_mismatch`, naming both digests (kept by redaction)."""
    result = await run(FakeRegistry(tamper=True))
    failure = result.failure
    assert failure is not None
    assert failure.reason == "publish_mismatch"
    assert failure.message.startswith("pull: manifest read back as sha256:")
    assert failure.message.endswith(f", pushed {result.manifest_digest}")


async def test_an_unsupported_delete_is_disabled() -> None:
    """Deletion refused with the registry's UNSUPPORTED error: `disabled`, still verified."""
    result = await run(FakeRegistry(delete_error="UNSUPPORTED"))
    assert result.failure is None
    assert result.delete == "disabled"

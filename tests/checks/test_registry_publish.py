"""The publish flow against an in-memory OCI registry that can be told to lie: what real
docker-registry never does (serve other bytes than were pushed, refuse deletes with an
`UNSUPPORTED` error) is still caught and reported."""

from __future__ import annotations

import base64
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
CANARY = "canary-Fake-Passw0rd-7c1e"


@dataclass
class FakeRegistry:
    """Blobs and manifests in dicts, no auth; `tamper` serves altered manifest bytes and
    `delete_error` answers deletes with that OCI error code (as a 405 would be);
    `upload_origin` prefixes upload Locations (another origin); `basic`
    (an `Authorization` value) leaves `/v2/` open but challenges every other request
    without it. `seen` records each request's `Authorization` header."""

    tamper: bool = False
    delete_error: str | None = None
    basic: str | None = None
    upload_origin: str = ""
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)
    seen: list[str | None] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        self.seen.append(request.headers.get("authorization"))
        refusal = self._refusal(request)
        if path == "/v2/" or refusal is not None:
            return refusal or httpx.Response(200)
        if method == "POST" and path.endswith("/blobs/uploads/"):
            location = f"{self.upload_origin}{path}upload-1?_state=x"
            return httpx.Response(202, headers={"Location": location})
        if method == "PUT" and "/blobs/uploads/" in path:
            digest = request.url.params["digest"]
            self.blobs[digest] = request.content
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        if "/manifests/" in path:
            return self._manifest(method, path.rsplit("/", 1)[1], request.content)
        if method == "GET" and "/blobs/" in path:
            return httpx.Response(200, content=self.blobs[path.rsplit("/", 1)[1]])
        return httpx.Response(404)

    def _refusal(self, request: httpx.Request) -> httpx.Response | None:
        """A Basic challenge for a request past `/v2/` without the expected credentials."""
        if self.basic is None or request.url.path == "/v2/":
            return None
        if request.headers.get("authorization") == self.basic:
            return None
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="fake"'})

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


async def run(fake: FakeRegistry, check: RegistryPublishCheck | None = None) -> PublishResult:
    """Publish to `fake`, as an anonymous client unless `check` declares credentials."""
    check = check or RegistryPublishCheck(repository="ops/scratch")
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as client:
        return await publish(check, BASE, client, NOW)


def declaring_credentials(monkeypatch: pytest.MonkeyPatch) -> RegistryPublishCheck:
    """A publish as user `ci` with a canary password read from the environment."""
    monkeypatch.setenv("FAKE_REGISTRY_PASSWORD", CANARY)
    return RegistryPublishCheck.model_validate(
        {
            "repository": "ops/scratch",
            "username": "ci",
            "password": {"env": "FAKE_REGISTRY_PASSWORD"},
        }
    )


async def test_an_open_registry_does_not_exercise_declared_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Credentials declared, and the registry took the push and pull without ever asking
    for them: not verified (anyone could have pushed), said so; the image is still deleted,
    and the password was never sent."""
    fake = FakeRegistry()
    result = await run(fake, declaring_credentials(monkeypatch))
    assert result.failure is not None
    assert result.failure.reason == "publish_failed"
    assert result.failure.message == (
        "the registry asked no credentials; the declared ones were not exercised"
    )
    assert result.auth_scheme == "none"
    assert all(step.ok for step in result.steps)
    assert result.delete == "deleted"
    assert fake.seen
    assert set(fake.seen) == {None}


async def test_credentials_are_used_when_a_later_request_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`/v2/` open but the push challenged Basic: the declared credentials are sent from
    then on, so they were exercised and the publish verifies with auth `basic`."""
    pair = base64.b64encode(f"ci:{CANARY}".encode()).decode()
    fake = FakeRegistry(basic=f"Basic {pair}")
    result = await run(fake, declaring_credentials(monkeypatch))
    assert result.failure is None, result.failure
    assert result.auth_scheme == "basic"
    assert result.delete == "deleted"
    assert fake.seen[:3] == [None, None, f"Basic {pair}"]
    assert CANARY not in repr(result)


async def test_an_honest_registry_without_auth_verifies() -> None:
    """No challenge anywhere and no credentials declared: auth `none`, pushed, pulled back,
    deleted, verified (nothing was declared that went unused)."""
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


@pytest.mark.parametrize(
    "elsewhere", ["http://reg.test", "https://other.test", "https://reg.test:8443"]
)
async def test_an_upload_location_on_another_origin_gets_no_credentials(
    monkeypatch: pytest.MonkeyPatch, elsewhere: str
) -> None:
    """An upload `Location` on another scheme, host or port is sent no `Authorization`: the
    registry refuses it and the publish fails as a refused push."""
    pair = base64.b64encode(f"ci:{CANARY}".encode()).decode()
    fake = FakeRegistry(basic=f"Basic {pair}", upload_origin=elsewhere)
    result = await run(fake, declaring_credentials(monkeypatch))
    assert result.failure is not None
    assert (result.failure.reason, result.failure.message) == (
        "publish_refused",
        "push refused: blob put 401",
    )
    assert fake.seen[-1] is None

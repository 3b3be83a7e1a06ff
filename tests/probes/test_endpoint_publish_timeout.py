"""A publish that runs out of time: the event keeps the steps done and names the one that
hung, and an image already pushed is still deleted (bounded, within the probe's backstop).

The registry is in memory (an async MockTransport handler) because a hang has to be
scripted: real docker-registry answers every request."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest

from ops_evidence.events.types import EndpointVerified, RegistryPublish
from ops_evidence.inventory.checks import HttpOptions
from ops_evidence.probes.base import ProbeContext
from tests.probes.inventories import inventory, probe

pytestmark = pytest.mark.anyio

PUSH_STEPS = ["ping", "blob-upload", "blob-put", "config-upload", "config-put", "manifest-put"]


class Unread(httpx.AsyncByteStream):
    """An empty body still to be read."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b""


@dataclass
class HangingRegistry:
    """An open registry that never answers the request `hang_on` names (`manifest-get`,
    `delete`) until cancelled; `deletes` records the digests asked to be deleted."""

    hang_on: str
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/v2/":
            # A stream not read yet: the route check reads the raw bytes, as off a socket.
            return httpx.Response(200, stream=Unread())
        if method == "POST":
            return httpx.Response(202, headers={"Location": f"{path}u1"})
        if method == "PUT" and "/blobs/" in path:
            digest = request.url.params["digest"]
            self.blobs[digest] = request.content
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        reference = path.rsplit("/", 1)[1]
        if method == "PUT":
            digest = f"sha256:{hashlib.sha256(request.content).hexdigest()}"
            self.manifests[reference] = self.manifests[digest] = request.content
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        return await self._read_or_delete(method, path, reference)

    async def _read_or_delete(self, method: str, path: str, reference: str) -> httpx.Response:
        if method == "DELETE":
            self.deletes.append(reference)
        asked = "delete" if method == "DELETE" else path.split("/")[-2][:-1] + "-get"
        if asked == self.hang_on:
            await anyio.sleep_forever()  # the scripted hang, ended by the probe's cancellation
        if method == "DELETE":
            return httpx.Response(202)
        stored = self.manifests if asked == "manifest-get" else self.blobs
        return httpx.Response(200, content=stored[reference])


async def publish_event(registry: HangingRegistry) -> tuple[EndpointVerified, RegistryPublish]:
    """Probe an open registry endpoint (timeout 1 s) declaring a publish, through `registry`."""

    def client(options: HttpOptions, timeout: float, **_: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(registry), timeout=timeout)

    endpoint = {
        "id": "registry",
        "service": "web",
        "url": "https://reg.test/v2/",
        "timeout": "1s",
        "publish": {"repository": "ops/scratch"},
    }
    inv = inventory(endpoints=[endpoint])
    event = await probe(inv, "endpoint:registry", ctx=ProbeContext(inv, client_factory=client))
    assert isinstance(event, EndpointVerified)
    assert event.attributes.publish is not None
    return event, event.attributes.publish


async def test_a_hung_pull_keeps_the_steps_and_deletes_the_image() -> None:
    """The manifest read back never answers: not verified (`timeout`), the pushes are listed
    with `manifest-get` as the step with no answer, and the pushed manifest is deleted."""
    registry = HangingRegistry(hang_on="manifest-get")
    event, publish = await publish_event(registry)
    assert (event.attributes.verified, event.attributes.reason) == (False, "timeout")
    assert publish.reason is not None
    assert publish.reason.startswith("manifest-get had no answer within ")
    assert event.attributes.message == f"publish: {publish.reason}"
    assert [s.name for s in publish.steps] == [*PUSH_STEPS, "manifest-get", "delete"]
    hung = publish.steps[-2]
    assert (hung.status, hung.ok) == (None, False)
    assert publish.manifest_digest is not None
    assert registry.deletes == [publish.manifest_digest]
    assert publish.delete == "deleted"
    assert publish.steps[-1].status == 202


async def test_a_hung_delete_keeps_the_verdict_and_says_failed() -> None:
    """Push and pull verified, then the delete never answers, nor its retry after the
    timeout: still verified, the delete `failed`, both tries listed."""
    registry = HangingRegistry(hang_on="delete")
    event, publish = await publish_event(registry)
    assert event.attributes.verified, (event.attributes.message, publish)
    assert publish.verified
    assert publish.delete == "failed"
    names = [s.name for s in publish.steps]
    assert names == [*PUSH_STEPS, "manifest-get", "blob-get", "delete", "delete"]
    assert [(s.status, s.ok) for s in publish.steps[-2:]] == [(None, False), (None, False)]
    assert publish.steps[-1].detail is not None
    assert publish.steps[-1].detail.endswith("after the timeout")
    assert len(registry.deletes) == 2

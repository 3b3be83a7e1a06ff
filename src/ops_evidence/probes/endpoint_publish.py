"""The `publish:` part of `ops-endpoint-verified`: a registry publish added to the event.

The publishing check runs inside the endpoint's event rather than as an event type of its
own: the seeds name no `ops-registry-published` type (a new one would need a widget type and
a manifest entry in Inter-Hub that the seeds do not declare), their first widget
`ops-endpoint-gitea-registry` is the registry endpoint, and OPS-G05 is about that endpoint.
A publish on a longer interval than the route check is a second endpoint (same URL, its own
`interval`, with `publish:`).

It runs once per probe, also for a `per_address` endpoint (through the probe's own client,
not pinned): a publish proves the registry's storage and auth, which every address shares,
and pushing once per address would multiply the scratch images for no more evidence.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx

from ops_evidence.checks.base import Failure
from ops_evidence.checks.registry.publish import PublishResult, publish
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import MAX_PUBLISH_STEPS, EndpointVerified
from ops_evidence.inventory.models import Endpoint
from ops_evidence.probes.base import ProbeContext, ProbeTarget, make_event, verdict

# A publish makes up to a dozen requests in what the route left of the timeout, and at least
# this long: under run_probe's 2 s backstop grace, so a slow route still yields its event.
_MIN_PUBLISH_SECONDS = 1.0


def origin(url: str) -> str:
    """The registry base of an endpoint URL: scheme, host and port (the API is at `/v2/`)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(path="/", query=None, fragment=None)).rstrip("/")


def publish_attributes(result: PublishResult) -> dict[str, Any]:
    """The event's `publish` attribute (a dict: `make_event` redacts it by the model)."""
    return {
        "verified": result.failure is None,
        "reason": result.failure.message if result.failure is not None else None,
        "repository": result.repository,
        "tag": result.tag,
        "auth_scheme": result.auth_scheme,
        "granted_scope": result.granted_scope,
        "steps": [
            {
                "name": s.name,
                "status": s.status,
                "ok": s.ok,
                "digest": s.digest,
                "detail": s.detail,
            }
            for s in result.steps[:MAX_PUBLISH_STEPS]
        ],
        "delete": result.delete,
        "manifest_digest": result.manifest_digest,
        "blob_digest": result.blob_digest,
    }


async def _run(ctx: ProbeContext, endpoint: Endpoint, budget: float) -> PublishResult:
    assert endpoint.publish is not None
    check = endpoint.publish
    result: PublishResult | None = None
    with anyio.move_on_after(budget):
        async with ctx.client_factory(endpoint, budget) as client:
            result = await publish(check, origin(endpoint.url), client, ctx.now())
    if result is None:
        failure = Failure.of("timeout", f"publish: no result within {budget:.1f}s")
        return PublishResult(check.repository, None, failure=failure)
    return result


async def with_publish(
    ctx: ProbeContext, target: ProbeTarget, event: EndpointVerified, started: float
) -> EvidenceEvent:
    """`event` with the endpoint's publish added, when it declares one; verified only when
    both the route and the publish are (the route's failure is named first)."""
    endpoint = ctx.inventory.entity("endpoints", target.entity_id)
    if not isinstance(endpoint, Endpoint) or endpoint.publish is None:
        return event
    left = target.timeout_seconds - (time.perf_counter() - started)
    result = await _run(ctx, endpoint, max(left, _MIN_PUBLISH_SECONDS))
    attributes = {**event.attributes.model_dump(), "publish": publish_attributes(result)}
    if event.attributes.verified and result.failure is not None:
        reason = result.failure.reason
        attributes.update(verdict(Failure(reason, f"publish: {result.failure.message}")))
    return make_event(EndpointVerified, ctx, target, attributes)

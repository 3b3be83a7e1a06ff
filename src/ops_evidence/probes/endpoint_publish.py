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
from ops_evidence.checks.registry.publish import PublishResult, start
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import MAX_PUBLISH_STEPS, EndpointVerified
from ops_evidence.inventory.models import Endpoint
from ops_evidence.probes.base import ProbeContext, ProbeTarget, make_event, verdict

# A publish makes up to a dozen requests in what the route left of the timeout, and at least
# this long: under run_probe's 2 s backstop grace, so a slow route still yields its event.
_MIN_PUBLISH_SECONDS = 1.0
# After a timeout, the delete of a pushed image gets what is left before run_probe's backstop
# (`_BACKSTOP_GRACE` past the target's timeout, in probes/registry.py) less a margin to build
# the event in: 0.5 to 1.5 s. Past the backstop the event itself would be lost.
_BACKSTOP_GRACE = 2.0
_EVENT_MARGIN = 0.5


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


async def _run(
    ctx: ProbeContext, endpoint: Endpoint, budget: float, cleanup: float
) -> PublishResult:
    """The publish within `budget` seconds; after a timeout the delete gets `cleanup` more."""
    assert endpoint.publish is not None
    async with ctx.client_factory(endpoint, budget) as client:
        publication = start(endpoint.publish, origin(endpoint.url), client, ctx.now())
        if isinstance(publication, PublishResult):
            return publication
        failure: Failure | None = None
        proved = False
        with anyio.move_on_after(budget):
            failure = await publication.push_and_pull()
            proved = True
            await publication.clean_up()
            return publication.result(failure)
        # Timed out. The steps done so far are kept, the one that hung is named; a hung
        # delete leaves the verdict of the push and pull as it was.
        hung = publication.hung(budget)
        await publication.clean_up_within(cleanup)
        return publication.result(failure if proved else hung)


async def with_publish(
    ctx: ProbeContext, target: ProbeTarget, event: EndpointVerified, started: float
) -> EvidenceEvent:
    """`event` with the endpoint's publish added, when it declares one; verified only when
    both the route and the publish are (the route's failure is named first)."""
    endpoint = ctx.inventory.entity("endpoints", target.entity_id)
    if not isinstance(endpoint, Endpoint) or endpoint.publish is None:
        return event
    elapsed = time.perf_counter() - started
    budget = max(target.timeout_seconds - elapsed, _MIN_PUBLISH_SECONDS)
    cleanup = target.timeout_seconds + _BACKSTOP_GRACE - elapsed - budget - _EVENT_MARGIN
    result = await _run(ctx, endpoint, budget, cleanup)
    attributes = {**event.attributes.model_dump(), "publish": publish_attributes(result)}
    if event.attributes.verified and result.failure is not None:
        reason = result.failure.reason
        attributes.update(verdict(Failure(reason, f"publish: {result.failure.message}")))
    return make_event(EndpointVerified, ctx, target, attributes)

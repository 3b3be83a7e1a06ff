"""`ops-endpoint-verified`: an endpoint answers as declared, and its certificate lasts.

The seeds' registry example is written in the inventory as-is: `expect: {status: 401,
headers: {Docker-Distribution-Api-Version: registry/2.0}}`. Only allow-listed headers and the
declared ones are quoted back as `observed_headers`.
"""

from __future__ import annotations

import time
from typing import Any

from ops_evidence.checks.base import Failure
from ops_evidence.checks.http import HttpResult, fetch, mismatches
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import EndpointVerified
from ops_evidence.inventory.models import Endpoint
from ops_evidence.probes.base import ProbeContext, ProbeTarget, entity, make_event, verdict
from ops_evidence.probes.endpoint_publish import with_publish
from ops_evidence.probes.tls_evidence import expiry_failure, tls_attributes
from ops_evidence.redact import HEADER_ALLOW_LIST, allowed_headers, compact_url


def _declared(endpoint: Endpoint, tls_min_days: int) -> dict[str, Any]:
    return {
        "endpoint": endpoint.id,
        "service": endpoint.service,
        "url": compact_url(endpoint.url),
        "method": endpoint.method,
        "expected_status": list(endpoint.expect.status),
        "expected_headers": {**endpoint.expect.headers, **endpoint.expect.header_patterns},
        "tls_min_days": tls_min_days if endpoint.url.startswith("https:") else None,
    }


def _failure(result: HttpResult, endpoint: Endpoint, expiring: Failure | None) -> Failure | None:
    if result.failure is not None:
        return result.failure
    problems = mismatches(result, endpoint.expect)
    if problems:
        reason = (
            "unexpected_status"
            if result.status not in endpoint.expect.status
            else "header_mismatch"
        )
        if endpoint.expect.json_field and all(p.startswith(("JSON", "body")) for p in problems):
            reason = "json_mismatch"
        return Failure.of(reason, f"{result.url}: {'; '.join(problems)}")
    return expiring


def observed_headers(result: HttpResult, endpoint: Endpoint) -> dict[str, str]:
    """Allow-listed and declared headers, named as declared (else in canonical case)."""
    declared = [*endpoint.expect.headers, *endpoint.expect.header_patterns]
    names = {name.lower(): name for name in declared}
    allow = HEADER_ALLOW_LIST | set(names)
    pairs = [
        (names.get(name.lower()) or "-".join(p.capitalize() for p in name.split("-")), value)
        for name, value in result.headers.multi_items()
    ]
    return allowed_headers(pairs, allow)


def _min_days(ctx: ProbeContext, endpoint: Endpoint) -> int:
    if endpoint.tls_min_days is not None:
        return endpoint.tls_min_days
    return ctx.inventory.defaults.tls_min_days


def failure_event(ctx: ProbeContext, target: ProbeTarget, failure: Failure) -> EvidenceEvent:
    endpoint = entity(ctx.inventory, "endpoints", target.entity_id, Endpoint)
    attributes = {**_declared(endpoint, _min_days(ctx, endpoint)), **verdict(failure)}
    return make_event(EndpointVerified, ctx, target, attributes)


async def probe_endpoint(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Request the endpoint once, then publish when it declares `publish:`; verified when
    status, headers and TLS lifetime hold, and the publish does."""
    started = time.perf_counter()
    event = await probe_route(ctx, target)
    return await with_publish(ctx, target, event, started)


async def probe_route(ctx: ProbeContext, target: ProbeTarget) -> EndpointVerified:
    """Request the endpoint once; verified when status, headers and TLS lifetime hold."""
    endpoint = entity(ctx.inventory, "endpoints", target.entity_id, Endpoint)
    min_days = _min_days(ctx, endpoint)
    result = await fetch(
        endpoint, timeout=target.timeout_seconds, client_factory=ctx.client_factory
    )
    now = ctx.now()
    expiring = expiry_failure(result.tls, now, min_days, result.url)
    attributes = {
        **_declared(endpoint, min_days),
        "observed_status": result.status,
        "observed_headers": observed_headers(result, endpoint),
        **tls_attributes(result.tls, now),
        "latency_ms": result.latency_ms,
        **verdict(_failure(result, endpoint, expiring)),
    }
    return make_event(EndpointVerified, ctx, target, attributes)

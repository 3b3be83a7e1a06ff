"""`ops-endpoint-verified` on every address: the endpoint probe for `per_address: true`.

An endpoint without `per_address` goes straight to `endpoint_verified.probe_endpoint`. With
it, the URL's host is resolved (A and AAAA), the single-address probe runs on each address
at once with a client pinned to that address (Host header and TLS server name stay the host
name), and one event lists each address's verdict in `addresses`. The endpoint is verified
when every address is, or at least `min_addresses` of them; its other attributes (status,
headers, certificate) are those of the first failing address when it is not, else of the
first verified one.

The host is resolved by the dns check (`checks.dns.resolve`, dnspython), not `getaddrinfo`:
both probes then see the same DNS answer, the A and AAAA sets as served (not filtered or
reordered by the C library's address selection), and `resolver` names a server as for a
`dns` access path. The price: `/etc/hosts` and nsswitch are not consulted. Pinning needs a
real connection, so these probes use `fresh_client` whatever `ctx.client_factory` is.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import anyio
import httpx

from ops_evidence.checks.base import Failure
from ops_evidence.checks.dns import DnsResult, resolve
from ops_evidence.checks.http import ClientFactory, fresh_client
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import MAX_ADDRESSES, AddressVerdict, EndpointVerified
from ops_evidence.inventory.checks import HttpOptions
from ops_evidence.inventory.models import Endpoint
from ops_evidence.probes.base import ProbeContext, ProbeTarget, entity, make_event, verdict
from ops_evidence.probes.endpoint_publish import with_publish
from ops_evidence.probes.endpoint_verified import failure_event, probe_endpoint, probe_route

# The probes on the addresses need some time of their own, however long resolution took.
_MIN_PROBE_SECONDS = 0.5


async def probe_endpoint_addresses(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Probe the endpoint once, or with `per_address` once on each resolved address."""
    endpoint = entity(ctx.inventory, "endpoints", target.entity_id, Endpoint)
    if not endpoint.per_address:
        return await probe_endpoint(ctx, target)
    started = time.perf_counter()
    host = httpx.URL(endpoint.url).host
    resolved = await _resolve(host, endpoint, target.timeout_seconds)
    if resolved.failure is not None:
        return failure_event(ctx, target, resolved.failure)
    left = max(target.timeout_seconds - (time.perf_counter() - started), _MIN_PROBE_SECONDS)
    each = replace(target, timeout=timedelta(seconds=left))
    probed = await _probe_each(ctx, each, host, resolved.addresses[:MAX_ADDRESSES])
    combined = _combined(ctx, target, endpoint, probed, len(resolved.addresses))
    # The publish runs once for all addresses (`endpoint_publish`, why).
    return await with_publish(ctx, target, combined, started)


async def _resolve(host: str, endpoint: Endpoint, budget: float) -> DnsResult:
    """The host's addresses: itself when it is an address literal, else its A and AAAA."""
    try:
        return DnsResult(host, "literal", (str(ipaddress.ip_address(host)),))
    except ValueError:
        pass  # a name: resolve it
    result = await resolve(host, resolver=endpoint.resolver, timeout=budget)
    if result.failure is None and not result.addresses:
        failure = Failure.of("no_addresses", f"{host} has no A or AAAA records")
        return replace(result, failure=failure)
    return result


def _pinned(host: str, address: str) -> ClientFactory:
    def factory(options: HttpOptions, timeout: float) -> httpx.AsyncClient:
        return fresh_client(options, timeout, connect_to={host: address})

    return factory


async def _probe_each(
    ctx: ProbeContext, target: ProbeTarget, host: str, addresses: tuple[str, ...]
) -> list[tuple[str, EndpointVerified]]:
    """The single-address probe's event for each address, in the order given."""
    events: dict[str, EvidenceEvent] = {}

    async def one(address: str) -> None:
        pinned = replace(ctx, client_factory=_pinned(host, address))
        events[address] = await probe_route(pinned, target)

    async with anyio.create_task_group() as group:
        for address in addresses:
            group.start_soon(one, address)
    probed = []
    for address in addresses:
        event = events[address]
        assert isinstance(event, EndpointVerified)  # probe_endpoint makes nothing else
        probed.append((address, event))
    return probed


def _verdicts(probed: list[tuple[str, EndpointVerified]]) -> list[dict[str, Any]]:
    return [
        AddressVerdict(
            address=address,
            verified=event.attributes.verified,
            status=event.attributes.observed_status,
            reason=event.attributes.reason,
            latency_ms=event.attributes.latency_ms,
        ).model_dump()
        for address, event in sorted(probed)
    ]


def _summary(probed: list[tuple[str, EndpointVerified]], total: int, needed: int) -> str:
    """`1 of 2 addresses verified (2 needed); 127.0.0.2: <why>`."""
    passed = sum(event.attributes.verified for _, event in probed)
    text = f"{passed} of {total} addresses verified ({needed} needed)"
    if len(probed) < total:
        text += f", only {len(probed)} probed"
    failed = [
        f"{address}: {event.attributes.message or event.attributes.reason}"
        for address, event in sorted(probed)
        if not event.attributes.verified
    ]
    return "; ".join([text, *failed])


def _combined(
    ctx: ProbeContext,
    target: ProbeTarget,
    endpoint: Endpoint,
    probed: list[tuple[str, EndpointVerified]],
    total: int,
) -> EndpointVerified:
    """One event for all addresses: verified when at least `needed` of them are."""
    needed = endpoint.min_addresses or total
    ordered = [event for _, event in sorted(probed)]
    passing = [event for event in ordered if event.attributes.verified]
    failing = [event for event in ordered if not event.attributes.verified]
    ok = len(passing) >= needed
    shown = (passing if ok else failing or ordered)[0]
    summary = _summary(probed, total, needed)
    failure = None if ok else Failure.of(shown.attributes.reason or "addresses_failed", summary)
    attributes = {
        **shown.attributes.model_dump(),
        "addresses": _verdicts(probed),
        "min_addresses": endpoint.min_addresses,
        **verdict(failure),
    }
    if ok and failing:
        # Verified with some addresses down (min_addresses): say which, capped like a failure's.
        attributes["message"] = Failure.of("partial", summary).message
    return make_event(EndpointVerified, ctx, target, attributes)

"""`ops-service-observed`: up / degraded / down and the observed version of a service.

Observed by its health URL (status set, headers, JSON field as declared; `degraded_status`
answers mean up-but-degraded) or by connecting to its TCP port (optionally with a banner).
"""

from __future__ import annotations

import re
from typing import Any

from ops_evidence.checks.base import Failure
from ops_evidence.checks.http import HttpResult, fetch, json_path, mismatches
from ops_evidence.checks.tcp import check_tcp
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import ServiceObserved
from ops_evidence.inventory.checks import HttpServiceCheck, VersionSource
from ops_evidence.inventory.models import Service
from ops_evidence.probes.base import ProbeContext, ProbeTarget, entity, make_event, verdict
from ops_evidence.redact import compact_url


def observed_version(result: HttpResult, source: VersionSource | None) -> str | None:
    """The version from the first configured source that yields one, unredacted."""
    if source is None or result.status is None:
        return None
    value: Any = None
    if source.json_field:
        try:
            value = json_path(result.json(), source.json_field)
        except (KeyError, ValueError):
            value = None
    if value is None and source.header:
        value = result.headers.get(source.header)
    if value is None and source.pattern:
        match = re.search(source.pattern, result.body.decode("utf-8", "replace"))
        value = match.group(1) if match and match.groups() else None
    # Raw: `make_event` keeps it verbatim when it has a version's shape (a commit id would be
    # masked as free text) and redacts and caps it otherwise (`events.identifiers.Version`).
    return str(value) if value is not None else None


def _http_verdict(check: HttpServiceCheck, result: HttpResult) -> tuple[str, Failure | None]:
    if result.failure is not None:
        return "down", result.failure
    if check.degraded_status and result.status in check.degraded_status:
        return "degraded", Failure.of("degraded", f"{result.url} answered {result.status}")
    problems = mismatches(result, check.expect)
    if problems:
        return "down", Failure.of("unexpected_answer", f"{result.url}: {'; '.join(problems)}")
    return "up", None


def failure_event(ctx: ProbeContext, target: ProbeTarget, failure: Failure) -> EvidenceEvent:
    service = entity(ctx.inventory, "services", target.entity_id, Service)
    kind = service.check.kind if service.check else "tcp"
    where = target.entity_id
    if isinstance(service.check, HttpServiceCheck):
        where = compact_url(service.check.url)
    elif service.check is not None:
        where = f"{service.check.host}:{service.check.port}"[:200]
    attributes = {"service": service.id, "status": "down", "check": kind, "target": where}
    return make_event(ServiceObserved, ctx, target, {**attributes, **verdict(failure)})


async def probe_service(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Observe the service with its declared check; `verified` means up."""
    service = entity(ctx.inventory, "services", target.entity_id, Service)
    check = service.check
    base: dict[str, Any] = {"service": service.id, "declared_version": service.version}
    if isinstance(check, HttpServiceCheck):
        result = await fetch(
            check, timeout=target.timeout_seconds, client_factory=ctx.client_factory
        )
        status, failure = _http_verdict(check, result)
        base |= {
            "check": "http",
            "target": result.url,
            "http_status": result.status,
            "latency_ms": result.latency_ms,
            "observed_version": observed_version(result, check.version),
        }
    elif check is not None:
        tcp = await check_tcp(
            check.host, check.port, banner=check.banner, timeout=target.timeout_seconds
        )
        failure = tcp.failure
        status = "down" if failure else "up"
        base |= {"check": "tcp", "target": tcp.target[:200], "latency_ms": tcp.latency_ms}
    else:
        return failure_event(ctx, target, Failure.of("no_check", f"{service.id} declares no check"))
    return make_event(ServiceObserved, ctx, target, {**base, "status": status, **verdict(failure)})

"""`ops-access-path-checked`: ssh banner and host keys, tcp reachability, tls handshake, dns,
Kubernetes API."""

from __future__ import annotations

import time
from typing import Any

from ops_evidence.checks.base import Failure
from ops_evidence.checks.dns import check_dns
from ops_evidence.checks.kubernetes import check_kubernetes
from ops_evidence.checks.ssh import check_host_keys
from ops_evidence.checks.tcp import check_tcp
from ops_evidence.checks.tls import TlsTarget, check_tls
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import AccessPathChecked
from ops_evidence.inventory.checks import DnsPath, KubernetesApiPath, SshPath, TcpPath, TlsPath
from ops_evidence.inventory.models import AccessPath
from ops_evidence.probes.base import ProbeContext, ProbeTarget, entity, make_event, verdict
from ops_evidence.probes.tls_evidence import expiry_failure, tls_attributes
from ops_evidence.redact import compact_url


def _target_text(check: SshPath | TcpPath | TlsPath | DnsPath | KubernetesApiPath) -> str:
    if isinstance(check, DnsPath):
        return check.name[:200]
    if isinstance(check, KubernetesApiPath):
        return compact_url(check.url.rstrip("/") + check.path)
    return f"{check.host}:{check.port}"[:200]


async def _tls(check: TlsPath, budget: float, ctx: ProbeContext) -> dict[str, Any]:
    result = await check_tls(
        TlsTarget(check.host, check.port, check.server_name, check.ca_file, budget)
    )
    now = ctx.now()
    failure = result.failure or expiry_failure(result.tls, now, check.min_days, result.target)
    leaf = result.tls.leaf if result.tls else None
    return {
        **tls_attributes(result.tls, now),
        "tls_subject": leaf.subject if leaf else None,
        "tls_issuer": leaf.issuer if leaf else None,
        "tls_serial": leaf.serial if leaf else None,
        "tls_sans": list(leaf.sans) if leaf else [],
        "latency_ms": result.latency_ms,
        **verdict(failure),
    }


async def _ssh(check: SshPath, budget: float) -> dict[str, Any]:
    """The banner first (a cheap answer to "is it sshd at all"), then the host keys in what
    is left of the budget."""
    started = time.monotonic()
    tcp = await check_tcp(check.host, check.port, banner=check.banner, timeout=budget)
    observed = {"banner": tcp.banner, "latency_ms": tcp.latency_ms, **verdict(tcp.failure)}
    if tcp.failure is not None:
        return observed
    keys = await check_host_keys(
        check.host,
        check.port,
        host_key=check.host_key,
        known_hosts=check.known_hosts,
        timeout=max(budget - (time.monotonic() - started), 0.5),
    )
    return {
        **observed,
        "ssh_host_keys": [{"type": k.type, "fingerprint": k.fingerprint} for k in keys.keys],
        "ssh_expected_fingerprints": list(keys.expected),
        "ssh_host_key_matched": keys.matched,
        **verdict(keys.failure),
    }


async def _observe(path_check: Any, budget: float, ctx: ProbeContext) -> dict[str, Any]:
    if isinstance(path_check, SshPath):
        return await _ssh(path_check, budget)
    if isinstance(path_check, TcpPath):
        tcp = await check_tcp(
            path_check.host, path_check.port, banner=path_check.banner, timeout=budget
        )
        return {"banner": tcp.banner, "latency_ms": tcp.latency_ms, **verdict(tcp.failure)}
    if isinstance(path_check, TlsPath):
        return await _tls(path_check, budget, ctx)
    if isinstance(path_check, DnsPath):
        dns = await check_dns(
            path_check.name,
            path_check.addresses,
            record_types=path_check.record_types,
            resolver=path_check.resolver,
            timeout=budget,
        )
        return {
            "declared_addresses": list(path_check.addresses),
            "resolved_addresses": list(dns.addresses),
            "missing_addresses": list(dns.missing),
            "extra_addresses": list(dns.extra),
            "latency_ms": dns.latency_ms,
            **verdict(dns.failure),
        }
    k8s = await check_kubernetes(path_check, timeout=budget, client_factory=ctx.client_factory)
    return {"kubernetes_version": k8s.version, "latency_ms": k8s.latency_ms, **verdict(k8s.failure)}


def failure_event(ctx: ProbeContext, target: ProbeTarget, failure: Failure) -> EvidenceEvent:
    path = entity(ctx.inventory, "access_paths", target.entity_id, AccessPath)
    attributes = {
        "access_path": path.id,
        "method": path.check.kind,
        "target": _target_text(path.check),
        "host": path.host,
        **verdict(failure),
    }
    return make_event(AccessPathChecked, ctx, target, attributes)


async def probe_access_path(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Run the access path's check; verified when it answers as declared."""
    path = entity(ctx.inventory, "access_paths", target.entity_id, AccessPath)
    observed = await _observe(path.check, target.timeout_seconds, ctx)
    attributes = {
        "access_path": path.id,
        "method": path.check.kind,
        "target": _target_text(path.check),
        "host": path.host,
        **observed,
    }
    return make_event(AccessPathChecked, ctx, target, attributes)

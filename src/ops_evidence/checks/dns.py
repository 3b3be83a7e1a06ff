"""DNS: resolve A/AAAA records and compare them with the declared addresses.

The resolver is configurable (`host` or `host:port`) so an operator can ask a specific
server; unset, the system's resolver configuration is used.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver

from ops_evidence.checks.base import Failure, elapsed_ms
from ops_evidence.errors import describe_exception


@dataclass(frozen=True, slots=True)
class DnsResult:
    """Addresses a name resolved to, compared with the declared ones."""

    name: str
    resolver: str
    addresses: tuple[str, ...] = ()
    latency_ms: float | None = None
    failure: Failure | None = None


def parse_resolver(value: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address -> (host, port)."""
    if value.startswith("["):
        host, _, port = value[1:].partition("]:")
        return host.rstrip("]"), int(port or 53)
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, int(port)
    return value, 53


def _resolver(resolver: str | None, timeout: float) -> dns.asyncresolver.Resolver:
    if resolver is None:
        instance = dns.asyncresolver.Resolver()
    else:
        host, port = parse_resolver(resolver)
        instance = dns.asyncresolver.Resolver(configure=False)
        instance.nameservers = [host]
        instance.port = port
    instance.lifetime = timeout
    instance.timeout = timeout
    return instance


def _normal(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


async def _lookup(resolver: dns.asyncresolver.Resolver, name: str, record_type: str) -> list[str]:
    try:
        answer = await resolver.resolve(name, record_type, search=False)
    except dns.resolver.NoAnswer:
        return []
    return [_normal(record.to_text()) for record in answer]


async def check_dns(
    name: str,
    declared: Sequence[str],
    *,
    record_types: Sequence[str] = ("A",),
    resolver: str | None = None,
    timeout: float = 5.0,
) -> DnsResult:
    """Resolve `name`; verified when the resolved set equals the declared set. Never raises."""
    where = resolver or "system"
    started = time.perf_counter()
    found: list[str] = []
    try:
        instance = _resolver(resolver, timeout)
        for record_type in record_types:
            found += await _lookup(instance, name, record_type)
    except dns.resolver.NXDOMAIN:
        return DnsResult(name, where, failure=Failure.of("nxdomain", f"{name} does not exist"))
    except dns.exception.Timeout:
        return DnsResult(name, where, failure=Failure.of("timeout", f"{where}: no DNS answer"))
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        message = f"{name} via {where}: {describe_exception(exc)}"
        return DnsResult(name, where, failure=Failure.of("dns_failure", message))
    addresses = tuple(sorted(set(found)))
    latency = elapsed_ms(started)
    expected = tuple(sorted({_normal(a) for a in declared}))
    if addresses != expected:
        message = f"{name} resolves to {list(addresses) or 'nothing'}, declared {list(expected)}"
        return DnsResult(name, where, addresses, latency, Failure.of("address_mismatch", message))
    return DnsResult(name, where, addresses, latency)

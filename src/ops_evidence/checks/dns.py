"""DNS: resolve A/AAAA records and compare the whole answer set with the declared addresses.

The resolver is configurable (`host` or `host:port`) so an operator can ask a specific
server; unset, the system's resolver configuration (`/etc/resolv.conf`) is used. `resolve`
is shared with the per-address endpoint probe, so both see the same answer set.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

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
    missing: tuple[str, ...] = ()
    """Declared but not in the answer."""
    extra: tuple[str, ...] = ()
    """In the answer but not declared."""


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


async def _lookup(
    resolver: dns.asyncresolver.Resolver, name: str, record_type: str, lifetime: float
) -> list[str]:
    try:
        answer = await resolver.resolve(name, record_type, search=False, lifetime=lifetime)
    except dns.resolver.NoAnswer:
        return []
    return [_normal(record.to_text()) for record in answer]


async def resolve(
    name: str,
    *,
    record_types: Sequence[str] = ("A", "AAAA"),
    resolver: str | None = None,
    timeout: float = 5.0,
) -> DnsResult:
    """Every address `name` resolves to over `record_types`, sorted; never raises.

    A type with no records adds nothing; a name with none at all is `no_addresses`.
    """
    where = resolver or "system"
    started = time.perf_counter()
    found: list[str] = []
    try:
        instance = _resolver(resolver, timeout)
        for record_type in record_types:
            # One budget for all types: A then AAAA must not take twice the timeout.
            left = max(timeout - (time.perf_counter() - started), 0.001)
            found += await _lookup(instance, name, record_type, left)
    except dns.resolver.NXDOMAIN:
        return DnsResult(name, where, failure=Failure.of("nxdomain", f"{name} does not exist"))
    except dns.exception.Timeout:
        return DnsResult(name, where, failure=Failure.of("timeout", f"{where}: no DNS answer"))
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        message = f"{name} via {where}: {describe_exception(exc)}"
        return DnsResult(name, where, failure=Failure.of("dns_failure", message))
    return DnsResult(name, where, tuple(sorted(set(found))), elapsed_ms(started))


def differences(missing: Sequence[str], extra: Sequence[str]) -> str:
    """`missing a, b; extra c` (empty when nothing differs)."""
    parts = [f"missing {', '.join(missing)}"] if missing else []
    if extra:
        parts.append(f"extra {', '.join(extra)}")
    return "; ".join(parts)


async def check_dns(
    name: str,
    declared: Sequence[str],
    *,
    record_types: Sequence[str] = ("A", "AAAA"),
    resolver: str | None = None,
    timeout: float = 5.0,
) -> DnsResult:
    """Resolve `name`; verified when the whole answer set equals the declared set.

    A mismatch names what is missing (declared, not answered) and what is extra (answered,
    not declared). Never raises.
    """
    result = await resolve(name, record_types=record_types, resolver=resolver, timeout=timeout)
    if result.failure is not None:
        return result
    expected = {_normal(a) for a in declared}
    missing = tuple(sorted(expected - set(result.addresses)))
    extra = tuple(a for a in result.addresses if a not in expected)
    if not missing and not extra:
        return result
    message = f"{name} resolves to {list(result.addresses) or 'nothing'}: "
    message += differences(missing, extra)
    return replace(
        result,
        failure=Failure.of("address_mismatch", message),
        missing=missing,
        extra=extra,
    )

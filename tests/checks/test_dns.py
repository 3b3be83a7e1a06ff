"""The dns check against a real dnsmasq on a high loopback port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from ops_evidence.checks.dns import check_dns, parse_resolver
from tests import real_servers as servers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def test_resolves_to_declared(dns_port: int) -> None:
    """A name resolving to exactly the declared address verifies."""
    result = await check_dns("registry.test", ["127.0.0.7"], resolver=f"127.0.0.1:{dns_port}")
    assert result.failure is None
    assert result.addresses == ("127.0.0.7",)


async def test_address_mismatch(dns_port: int) -> None:
    """A name resolving elsewhere is `address_mismatch`, with what it resolved to."""
    result = await check_dns("moved.test", ["127.0.0.7"], resolver=f"127.0.0.1:{dns_port}")
    assert result.failure is not None
    assert result.failure.reason == "address_mismatch"
    assert result.addresses == ("127.0.0.9",)


async def test_unknown_name(dns_port: int) -> None:
    """A name the server does not know fails as data (NXDOMAIN or refused)."""
    result = await check_dns("unknown.test", ["127.0.0.7"], resolver=f"127.0.0.1:{dns_port}")
    assert result.failure is not None
    assert result.failure.reason in {"nxdomain", "dns_failure"}


@pytest.fixture
def silent_udp_port() -> Iterator[int]:
    """A UDP port that receives queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((servers.LOOPBACK, 0))
        yield sock.getsockname()[1]


async def test_silent_resolver_times_out(silent_udp_port: int) -> None:
    """A resolver that never answers is `timeout` within the timeout."""
    result = await check_dns(
        "registry.test", ["127.0.0.7"], resolver=f"127.0.0.1:{silent_udp_port}", timeout=0.5
    )
    assert result.failure is not None
    assert result.failure.reason == "timeout"


def test_parse_resolver() -> None:
    """Resolver settings: host, host:port, [v6]:port and bare IPv6."""
    assert parse_resolver("10.0.0.1") == ("10.0.0.1", 53)
    assert parse_resolver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_resolver("[::1]:5353") == ("::1", 5353)
    assert parse_resolver("::1") == ("::1", 53)


async def test_aaaa_records(dns_port: int) -> None:
    """AAAA records are compared in canonical IPv6 form."""
    result = await check_dns(
        "v6.test", ["fd00:0::7"], record_types=["AAAA"], resolver=f"127.0.0.1:{dns_port}"
    )
    assert result.failure is None
    assert result.addresses == ("fd00::7",)


async def test_whole_answer_set(dns_port: int) -> None:
    """A name with two A records verifies only when both are declared, in any order."""
    result = await check_dns(
        servers.MULTI_NAME, ["127.0.0.2", "127.0.0.1"], resolver=f"127.0.0.1:{dns_port}"
    )
    assert result.failure is None
    assert result.addresses == servers.MULTI_ADDRESSES


async def test_missing_and_extra(dns_port: int) -> None:
    """A partly different answer set names what is missing and what is extra."""
    result = await check_dns(
        servers.MULTI_NAME, ["127.0.0.1", "127.0.0.3"], resolver=f"127.0.0.1:{dns_port}"
    )
    assert result.failure is not None
    assert result.failure.reason == "address_mismatch"
    assert result.missing == ("127.0.0.3",)
    assert result.extra == ("127.0.0.2",)
    assert "missing 127.0.0.3; extra 127.0.0.2" in result.failure.message


async def test_one_declared_of_two(dns_port: int) -> None:
    """Declaring one of a name's two addresses is not enough: the other is extra."""
    result = await check_dns(servers.MULTI_NAME, ["127.0.0.1"], resolver=f"127.0.0.1:{dns_port}")
    assert result.failure is not None
    assert (result.missing, result.extra) == ((), ("127.0.0.2",))


async def test_extra_aaaa_record(dns_port: int) -> None:
    """By default AAAA records count too: a declared IPv4 address misses the v6 name's."""
    result = await check_dns("v6.test", ["127.0.0.7"], resolver=f"127.0.0.1:{dns_port}")
    assert (result.missing, result.extra) == (("127.0.0.7",), ("fd00::7",))

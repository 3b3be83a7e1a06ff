"""The http check against real nginx and the real docker-registry on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from ops_evidence.checks.http import fetch, mismatches
from ops_evidence.http.trust import ssl_context
from ops_evidence.inventory.checks import HttpExpect, HttpOptions
from tests import real_servers as servers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def options(url: str, **extra: object) -> HttpOptions:
    """HttpOptions from keyword settings, validated as the inventory would be."""
    return HttpOptions.model_validate({"url": url, **extra})


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (kernel backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind((servers.LOOPBACK, 0))
        sock.listen(8)
        yield sock.getsockname()[1]


async def test_registry_answers_401_with_its_header(registry: servers.Registry) -> None:
    """/v2/ of the real registry is 401 with `Docker-Distribution-Api-Version: registry/2.0`."""
    opts = options(
        f"https://127.0.0.1:{registry.port}/v2/",
        ca_file=str(registry.ca_file),
        expect={"status": 401, "headers": {"Docker-Distribution-Api-Version": "registry/2.0"}},
    )
    result = await fetch(opts, timeout=5)
    assert result.failure is None
    assert mismatches(result, opts.expect) == []
    assert result.tls is not None
    assert result.tls.verified is True


async def test_registry_accepts_basic_auth_from_env(
    registry: servers.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the htpasswd user's password from a variable, /v2/ answers 200."""
    monkeypatch.setenv("REG_PASSWORD", servers.REGISTRY_PASSWORD)
    opts = options(
        f"https://127.0.0.1:{registry.port}/v2/",
        ca_file=str(registry.ca_file),
        basic_auth={"username": servers.REGISTRY_USER, "password": {"env": "REG_PASSWORD"}},
    )
    result = await fetch(opts, timeout=5)
    assert result.status == 200
    assert servers.REGISTRY_PASSWORD not in repr(result)


async def test_wrong_header_value_is_a_mismatch(registry: servers.Registry) -> None:
    """A declared header with another value is reported, naming the header."""
    expect = HttpExpect(status=[401], headers={"Docker-Distribution-Api-Version": "registry/3.0"})
    opts = options(f"https://127.0.0.1:{registry.port}/v2/", ca_file=str(registry.ca_file))
    problems = mismatches(await fetch(opts, timeout=5), expect)
    assert problems
    assert "Docker-Distribution-Api-Version" in problems[0]


async def test_self_signed_certificate_fails_verification(nginx: servers.Nginx) -> None:
    """TLS verification is on by default: a self-signed certificate is `tls_verify_failed`."""
    result = await fetch(options(f"https://127.0.0.1:{nginx.self_signed}/health"), timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "tls_verify_failed"


async def test_refused_certificate_keeps_its_facts(nginx: servers.Nginx) -> None:
    """After verification refused it, the certificate's dates and fingerprint are still read
    (a second, unverified handshake), with the reason."""
    result = await fetch(options(f"https://127.0.0.1:{nginx.self_signed}/health"), timeout=5)
    assert result.tls is not None
    assert result.tls.verified is False
    assert result.tls.verify_error == "self-signed certificate"
    assert result.tls.leaf.subject == "CN=localhost"
    assert result.tls.leaf.fingerprint_sha256


async def test_chain_read_through_httpx_own_transport(
    nginx: servers.Nginx, certs: servers.Certs
) -> None:
    """The chain comes from the response's `ssl_object` with httpx's pooled transport too."""

    def pooled(opts: HttpOptions, timeout: float) -> httpx.AsyncClient:
        context = ssl_context(opts.verify_tls, opts.ca_file)
        return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(verify=context))

    url = f"https://127.0.0.1:{nginx.short_intermediate}/health"
    opts = options(url, ca_file=str(certs.short.ca_file))
    result = await fetch(opts, timeout=5, client_factory=pooled)
    assert result.status == 200
    assert result.tls is not None
    assert [c.subject for c in result.tls.chain] == ["CN=localhost", "CN=Test Intermediate"]


async def test_verification_can_be_turned_off(nginx: servers.Nginx) -> None:
    """`verify_tls: false` accepts the self-signed certificate."""
    opts = options(f"https://127.0.0.1:{nginx.self_signed}/health", verify_tls=False)
    result = await fetch(opts, timeout=5)
    assert result.status == 200
    assert result.tls is not None
    assert (result.tls.verified, result.tls.host_matched) == (None, True)


async def test_refused_connection_is_data() -> None:
    """Nothing listening: `connection_refused`, no exception."""
    result = await fetch(options(f"http://127.0.0.1:{servers.free_port()}/"), timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "connection_refused"


async def test_silent_server_times_out(silent_port: int) -> None:
    """A server that never answers becomes `timeout` within the per-request timeout."""
    result = await fetch(options(f"http://127.0.0.1:{silent_port}/"), timeout=0.3)
    assert result.failure is not None
    assert result.failure.reason == "timeout"


async def test_redirects_are_not_followed_by_default(nginx: servers.Nginx) -> None:
    """A 302 is reported as 302 with its Location, not followed."""
    result = await fetch(options(f"http://127.0.0.1:{nginx.http}/moved"), timeout=5)
    assert result.status == 302
    assert result.headers["location"].endswith("/health")


async def test_body_is_capped(nginx: servers.Nginx) -> None:
    """Only `max_body_bytes` of a larger body are read."""
    result = await fetch(
        options(f"http://127.0.0.1:{nginx.http}/big", max_body_bytes=100), timeout=5
    )
    assert result.status == 200
    assert len(result.body) == 100


async def test_json_field_assertion(nginx: servers.Nginx) -> None:
    """A JSON field equal to the declared value matches; another value does not."""
    result = await fetch(options(f"http://127.0.0.1:{nginx.http}/health"), timeout=5)
    good = HttpExpect.model_validate({"json_field": {"path": "status", "equals": "ok"}})
    bad = HttpExpect.model_validate({"json_field": {"path": "status", "equals": "down"}})
    assert mismatches(result, good) == []
    assert mismatches(result, bad) == ["JSON field status is 'ok', expected 'down'"]


async def test_bad_json_is_a_mismatch(nginx: servers.Nginx) -> None:
    """A body that is not JSON fails a JSON field assertion with `body is not JSON`."""
    result = await fetch(options(f"http://127.0.0.1:{nginx.http}/not-json"), timeout=5)
    expect = HttpExpect.model_validate({"json_field": {"path": "status", "equals": "ok"}})
    assert mismatches(result, expect) == ["body is not JSON"]


async def test_missing_secret_is_data(nginx: servers.Nginx) -> None:
    """A bearer token variable that is unset becomes `secret_unavailable`."""
    opts = options(f"http://127.0.0.1:{nginx.http}/health", bearer_token={"env": "NOT_SET_TOKEN"})
    result = await fetch(opts, timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "secret_unavailable"

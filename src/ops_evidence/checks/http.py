"""HTTP: one request on a fresh connection, status / headers / JSON field compared with `expect`.

Redirects are off and TLS verification is on unless the inventory says otherwise; the body is
read only up to a cap and never leaves this module except as parsed, asserted values.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ops_evidence.checks.base import Failure, elapsed_ms
from ops_evidence.checks.certificates import TlsFacts, connection_facts
from ops_evidence.checks.errors import failure_from, verification_error
from ops_evidence.checks.tls import TlsTarget, read_unverified
from ops_evidence.checks.transport import FreshConnectionTransport
from ops_evidence.http.cookieless import CookielessClient
from ops_evidence.http.trust import ssl_context
from ops_evidence.inventory.checks import HttpExpect, HttpOptions
from ops_evidence.inventory.secrets import SecretUnavailableError
from ops_evidence.redact import compact_url

ClientFactory = Callable[[HttpOptions, float], httpx.AsyncClient]
"""Builds the client for one probe from its options and timeout (tests inject transports)."""


def fresh_client(
    options: HttpOptions, timeout: float, *, connect_to: Mapping[str, str] | None = None
) -> httpx.AsyncClient:
    """A new client per probe on a transport that opens a new connection per request.

    A new connection is evidence of reachability; a pooled one isn't. `connect_to` pins the
    address a host name connects to (the per-address probe); Host and SNI stay the URL's host.
    """
    return CookielessClient(
        transport=FreshConnectionTransport(
            ssl_context(options.verify_tls, options.ca_file), timeout, connect_to=connect_to
        ),
        follow_redirects=options.follow_redirects,
        timeout=httpx.Timeout(timeout),
        trust_env=False,  # proxies from the environment would probe the proxy, not the target
    )


@dataclass(frozen=True, slots=True)
class HttpResult:
    """What one request observed. `body` is capped and stays in memory only."""

    url: str
    method: str
    status: int | None = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    body: bytes = field(default=b"", repr=False)
    tls: TlsFacts | None = None
    latency_ms: float | None = None
    failure: Failure | None = None

    def json(self) -> Any:
        """The body parsed as JSON; ValueError when it is not JSON."""
        return json.loads(self.body)


def _auth_headers(options: HttpOptions) -> dict[str, str]:
    # identity: the capped body is read raw, and a compressed one could not be parsed.
    headers = {"Accept-Encoding": "identity"}
    if options.bearer_token is not None:
        headers["Authorization"] = f"Bearer {options.bearer_token.read()}"
    return headers


def _auth(options: HttpOptions) -> httpx.BasicAuth | None:
    if options.basic_auth is None:
        return None
    return httpx.BasicAuth(options.basic_auth.username, options.basic_auth.password.read())


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk[: cap - size])
        size += len(chunks[-1])
        if size >= cap:
            break
    return b"".join(chunks)


async def fetch(
    options: HttpOptions, *, timeout: float, client_factory: ClientFactory = fresh_client
) -> HttpResult:
    """Send the request and read status, headers, capped body and certificate; never raises."""
    url = compact_url(options.url)
    try:
        headers, auth = _auth_headers(options), _auth(options)
    except SecretUnavailableError as exc:
        return HttpResult(url, options.method, failure=Failure.of("secret_unavailable", str(exc)))
    started = time.perf_counter()
    try:
        async with client_factory(options, timeout) as client:
            request = client.build_request(options.method, options.url, headers=headers)
            response = await client.send(request, auth=auth, stream=True)
            try:
                stream = response.extensions.get("network_stream")
                ssl_object = stream.get_extra_info("ssl_object") if stream else None
                body = await _read_capped(response, options.max_body_bytes)
            finally:
                await response.aclose()
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError) as exc:
        tls = await tls_after_failure(options, exc, timeout - (time.perf_counter() - started))
        return HttpResult(url, options.method, tls=tls, failure=failure_from(exc, url))
    return HttpResult(
        url,
        options.method,
        status=response.status_code,
        headers=response.headers,
        body=body,
        tls=connection_facts(
            ssl_object, verify=options.verify_tls, host=httpx.URL(options.url).host
        ),
        latency_ms=elapsed_ms(started),
    )


async def tls_after_failure(
    options: HttpOptions, exc: BaseException, timeout: float
) -> TlsFacts | None:
    """The presented chain when verification refused it (a second, unverified handshake)."""
    error = verification_error(exc)
    if error is None:
        return None
    url = httpx.URL(options.url)
    target = TlsTarget(url.host, url.port or 443, url.host, None, timeout)
    return await read_unverified(target, error)


def json_path(document: Any, path: str) -> Any:
    """Follow a dotted path (`status.db`, `items.0.name`); KeyError when it is absent."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise KeyError(path)
    return current


def mismatches(result: HttpResult, expect: HttpExpect) -> list[str]:
    """Human descriptions of every way the answer differs from `expect` (empty: as declared)."""
    problems: list[str] = []
    if result.status not in expect.status:
        problems.append(f"status {result.status}, expected {expect.status}")
    for name, value in expect.headers.items():
        observed = result.headers.get(name)
        if observed != value:
            problems.append(f"header {name} is {observed!r}, expected {value!r}")
    for name, pattern in expect.header_patterns.items():
        observed = result.headers.get(name)
        if observed is None or not re.search(pattern, observed):
            problems.append(f"header {name} is {observed!r}, expected /{pattern}/")
    if expect.json_field is not None:
        problems += _json_mismatch(result, expect)
    return problems


def _json_mismatch(result: HttpResult, expect: HttpExpect) -> list[str]:
    spec = expect.json_field
    assert spec is not None
    try:
        value = json_path(result.json(), spec.path)
    except ValueError:
        return ["body is not JSON"]
    except KeyError:
        return [f"JSON field {spec.path} is absent"]
    if spec.equals is not None and value != spec.equals:
        return [f"JSON field {spec.path} is {value!r}, expected {spec.equals!r}"]
    if spec.pattern is not None and not re.search(spec.pattern, str(value)):
        return [f"JSON field {spec.path} is {value!r}, expected /{spec.pattern}/"]
    return []

"""The HTTP client the sinks share, and the rule about keys over plain HTTP."""

from __future__ import annotations

import ipaddress
import ssl
from urllib.parse import urlsplit

import httpx

from ops_evidence import __version__
from ops_evidence.delivery.sinks.transport import KeepAliveTransport
from ops_evidence.errors import ConfigError
from ops_evidence.http.cookieless import CookielessClient
from ops_evidence.http.trust import ssl_context as trusted_context

MAX_CONNECTIONS = 32


def make_client(
    timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None
) -> httpx.AsyncClient:
    """An AsyncClient with explicit timeouts and TLS verification on.

    Trust is the system store shared with the probes (`http/trust.py`; `SSL_CERT_FILE` /
    `SSL_CERT_DIR` replace it), unless a context is given (tests with their own CA). Not
    httpx's certifi bundle: a second full CA store would cost ~2.6 MB of resident memory.

    The transport is our keep-alive one (`delivery/sinks/transport.py`): httpcore's pool was
    most of the CPU per delivered event. Proxies from the environment still get httpx's
    transports.
    It keeps no cookies (`http/cookieless.py`): a sink authenticates with its key, and parsing each
    response's `Set-Cookie` cost about a tenth of a delivery's CPU.
    """
    return CookielessClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        verify=True,
        follow_redirects=False,
        headers={"User-Agent": f"ops-evidence/{__version__}"},
        transport=KeepAliveTransport(ssl_context or trusted_context(), MAX_CONNECTIONS),
    )


async def send_prepared(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send a request the sink built whole (headers, body, timeouts) to the client's transport.

    `AsyncClient.send` wraps each request in an auth flow, a redirect loop, event hooks, an
    elapsed timer and cookie handling; a delivery uses none of them (the key is a header,
    redirects are off, no cookies). That layer cost ~100 µs of CPU per request here against
    ~26 µs for the transport's own work (a canned-answer transport, 20,000 requests, best of
    three), a sixth of a delivery's CPU. The transport is still the one the client picks for
    the URL, so a proxy from the environment is honoured as by `send`.
    """
    # httpx's per-URL choice of transport (its proxy mounts); httpx is pinned in uv.lock.
    transport = client._transport_for_url(request.url)
    response = await transport.handle_async_request(request)
    response.request = request
    try:
        await response.aread()
    finally:
        await response.aclose()
    return response


def is_loopback(url: str) -> bool:
    """True when the URL's host is localhost or a loopback address."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_key_transport(url: str, *, allow_insecure: bool, variable: str = "INTER_HUB_URL") -> None:
    """Refuse to send a key over http:// to a non-loopback host unless explicitly allowed."""
    if urlsplit(url).scheme == "http" and not is_loopback(url) and not allow_insecure:
        raise ConfigError(
            f"{variable}: refusing to send OPS_HUB_KEY over plain http:// to a non-loopback "
            "host; use https:// or set OPS_EVIDENCE_ALLOW_INSECURE_HTTP=true"
        )

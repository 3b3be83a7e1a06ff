"""The HTTP client the sinks share, and the rule about keys over plain HTTP."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import httpx

from ops_evidence import __version__
from ops_evidence.errors import ConfigError


def make_client(timeout: float = 10.0) -> httpx.AsyncClient:
    """An AsyncClient with explicit timeouts and TLS verification on."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        verify=True,
        follow_redirects=False,
        headers={"User-Agent": f"ops-evidence/{__version__}"},
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
    )


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

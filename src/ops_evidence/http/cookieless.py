"""An httpx client without a cookie jar, shared by the probes and the sinks.

httpx parses every response's `Set-Cookie` through `http.cookiejar` and merges the jar into
every request. Neither a probe (evidence of an endpoint, not a session) nor a sink (a bearer
key, no session) uses cookies, and the parsing cost a fifth of a probe's CPU and about a
tenth of a delivery's (bench/probes.py, bench/delivery.py).
"""

from __future__ import annotations

from typing import Any

import httpx


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Ignore the response's cookies."""


class CookielessClient(httpx.AsyncClient):
    """An httpx AsyncClient that neither stores nor sends cookies."""

    @property
    def cookies(self) -> httpx.Cookies:
        """Always empty."""
        return _NoCookies()

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        """Cookies are not kept."""

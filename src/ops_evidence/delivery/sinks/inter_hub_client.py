"""The one authenticated client of Inter-Hub `/api/v2`, shared by the sink and the rollout tools.

It owns what both need: the key in the configured header (headers built once), the rule
that the key never goes over plain http to a non-loopback host, pagination learned from
the answers (`pages.py`, the read-back's page learner) and error mapping (a refused answer
is `HubRefused` with the same redacted summary the sink records; an unreachable hub is
`UnavailableError`). The sink (`inter_hub.py`) posts events and reads back through it
(`list_page`, whose answers the read-back classifies itself); `gate-probe`, `seed-widgets`
and `smoke` read the OpenAPI document and list widgets (`get`, `list_all`). The injected
`httpx.AsyncClient` does the I/O (tests pass one on `httpx.ASGITransport` or a loopback
server).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
from pydantic import SecretStr

from ops_evidence.config.settings import Settings
from ops_evidence.delivery.backoff import parse_retry_after
from ops_evidence.delivery.sinks.classify import short_error
from ops_evidence.delivery.sinks.http import check_key_transport
from ops_evidence.delivery.sinks.pages import PageRequest, parse_page
from ops_evidence.errors import ConfigError, UnavailableError
from ops_evidence.redact import redact_text

API = "/api/v2"
EVENTS_PATH = f"{API}/interaction-events"
# A runaway list must not loop for ever: 10 000 pages is far beyond any hub.
MAX_PAGES = 10_000
# Reads are rate limited; wait out a 429 a few times, but never for long.
MAX_RATE_LIMIT_WAITS = 3
MAX_RATE_LIMIT_SLEEP = 30.0

Sleep = Callable[[float], Awaitable[None]]


class InterHubClient:
    """GET, paginated GET and POST against `INTER_HUB_URL/api/v2` with the API key."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        key: SecretStr,
        *,
        auth_header: str = "Authorization",
        auth_scheme: str = "Bearer",
        allow_insecure_http: bool = False,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        check_key_transport(base_url, allow_insecure=allow_insecure_http)
        self._client = client
        self.base_url = base_url.rstrip("/")
        # Parsed once: httpx would parse a string URL again on every request.
        self.events_url = httpx.URL(self.base_url + EVENTS_PATH)
        secret = key.get_secret_value()
        value = f"{auth_scheme} {secret}" if auth_scheme else secret
        # Built (and normalised by httpx) once, for every request; a post adds its own.
        self.auth_headers = httpx.Headers({auth_header: value, "Accept": "application/json"})
        self._sleep = sleep

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client it sends through (the sink posts through it too)."""
        return self._client

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.AsyncClient) -> InterHubClient:
        """A client from INTER_HUB_URL and OPS_HUB_KEY; ConfigError (78) naming what is unset."""
        missing = [m for m in settings.inter_hub_missing() if m != "OPS_HUB_WIDGET_MAPPING"]
        if missing or settings.inter_hub_url is None or settings.ops_hub_key is None:
            problems = [f"{m} is not set" for m in missing]
            raise ConfigError("Inter-Hub is not configured", problems=problems)
        return cls(
            client,
            str(settings.inter_hub_url),
            settings.ops_hub_key,
            auth_header=settings.inter_hub_auth_header,
            auth_scheme=settings.inter_hub_auth_scheme,
            allow_insecure_http=settings.allow_insecure_http,
        )

    def url(self, path: str) -> str:
        """The absolute URL of an API path such as `/widgets` (a URL of the hub unchanged)."""
        return path if path.startswith(f"{self.base_url}/") else f"{self.base_url}{API}{path}"

    async def list_page(
        self, url: httpx.URL | str, params: list[tuple[str, str]]
    ) -> httpx.Response:
        """One authenticated GET of a list page, as the read-back reads it: the answer
        as it came (the read-back classifies it), transport errors raised."""
        # No params at all for a next link: httpx would replace the link's query with them.
        query = tuple(params) or None
        return await self._client.get(url, params=query, headers=self.auth_headers)

    async def get(
        self, path: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None
    ) -> httpx.Response:
        """An authenticated GET; waits out a few 429s; UnavailableError if unreachable."""
        for _ in range(MAX_RATE_LIMIT_WAITS):
            response = await self._send("GET", path, params=params)
            if response.status_code != 429:
                return response
            wait = parse_retry_after(response.headers.get("retry-after")) or 1.0
            await self._sleep(min(wait, MAX_RATE_LIMIT_SLEEP))
        return await self._send("GET", path, params=params)

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """An authenticated JSON POST (sent once: the rollout tools never retry writes)."""
        return await self._send("POST", path, json=body)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.request(
                method, self.url(path), headers=self.auth_headers, **kwargs
            )
        except httpx.HTTPError as exc:
            # The exception text may carry the URL; it never carries headers, but redact anyway.
            detail = redact_text(f"{type(exc).__name__}: {exc}", limit=240)
            raise UnavailableError(
                f"Inter-Hub at {self.base_url} is unreachable ({method} {API}{path}): {detail}"
            ) from None

    async def list_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Every item of a paginated list, paged as the hub's answers say
        (`delivery/sinks/pages.py`: links, cursors, offsets or page numbers), from its default
        page size.

        Raises `HubRefused` for an answer other than a 200 list (status and redacted reason),
        UnavailableError for a next link to another origin (the key would go with it).
        """
        items: list[Any] = []
        asked, first, previous = PageRequest(), None, None
        for _ in range(MAX_PAGES):
            target = asked.url or path
            if asked.url is not None and not asked.url.startswith(f"{self.base_url}/"):
                raise UnavailableError(f"GET {API}{path}: the next link leaves {self.base_url}")
            query = None if asked.url else [*(params or {}).items(), *asked.params]
            response = await self.get(target, query)
            page = parse_page(response, asked, first) if response.status_code == 200 else None
            if page is None:
                raise HubRefused(f"GET {API}{path}", response)
            if page.items == previous and not asked.restart:
                # A hub that ignores the page asked for: stopping here could miss items
                # (and seed-widgets would create duplicates).
                raise UnavailableError(
                    f"GET {API}{path}: the hub answered the same page "
                    "twice; its pagination is not one this client reads"
                )
            if asked.restart:
                items = []  # page 1 again, in larger pages
            items.extend(page.items)
            first, previous = first or len(page.items), page.items
            if page.next is None:
                break
            asked = page.next
        return items


class HubRefused(Exception):
    """Inter-Hub answered a request with a non-success status (kept as data by callers)."""

    def __init__(self, request: str, response: httpx.Response) -> None:
        self.status = response.status_code
        self.reason = short_error(response)
        super().__init__(f"{request}: {self.reason}")


def response_data(response: httpx.Response) -> Any:
    """The JSON body's `data` member (or the whole body); None when it is not JSON."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("data", body) if isinstance(body, dict) else body

"""The cookie-less client: Set-Cookie is ignored and no Cookie header is ever sent."""

from __future__ import annotations

import httpx
import pytest

from ops_evidence.delivery.sinks.http import make_client
from ops_evidence.http.cookieless import CookielessClient

pytestmark = pytest.mark.anyio


async def test_set_cookie_is_not_kept_nor_sent_back() -> None:
    """A server setting a cookie does not see it on the next request."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=abc; Path=/"})

    async with CookielessClient(transport=httpx.MockTransport(handler)) as client:
        await client.get("http://hub.test/a")
        await client.get("http://hub.test/b")
        assert not list(client.cookies.jar)
    assert seen == [None, None]


async def test_sink_client_is_cookieless() -> None:
    """The sinks' shared client is the cookie-less one."""
    async with make_client(1.0) as client:
        assert isinstance(client, CookielessClient)

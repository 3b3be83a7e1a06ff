"""Pagination learned from one answer: what the next request is, or that the list ended."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ops_evidence.delivery.sinks.pages import PageRequest, parse_page

URL = "https://hub.test/api/v2/interaction-events?widgetId=w"


def _answer(body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", URL)
    return httpx.Response(200, json=body, headers=headers or {}, request=request)


ITEMS = [{"id": "a"}, {"id": "b"}]


SECOND = PageRequest(params=(("page", "2"), ("limit", "20")), page=2)  # not a first request


@pytest.mark.parametrize(
    ("body", "headers", "expected", "asked"),
    [
        # RFC 8288 Link header, relative to the request.
        (ITEMS, {"Link": '</api/v2/interaction-events?after=b>; rel="next"'},
         PageRequest(url="https://hub.test/api/v2/interaction-events?after=b"), "first"),
        ({"data": ITEMS, "links": {"next": {"href": "?cursor=xyz"}}}, {},
         PageRequest(url="https://hub.test/api/v2/interaction-events?cursor=xyz"), "first"),
        ({"data": ITEMS, "next": "opaque-token"}, {}, PageRequest(params=(("cursor", "opaque-token"),)), "first"),
        ({"data": ITEMS, "nextPageToken": "t2"}, {}, PageRequest(params=(("pageToken", "t2"),)), "first"),
        ({"data": ITEMS, "nextCursor": None}, {}, None, "first"),
        ({"data": ITEMS, "meta": {"offset": 40, "limit": 2, "total": 100}}, {},
         PageRequest(params=(("offset", "42"), ("limit", "100"))), "first"),  # larger pages at once
        ({"data": ITEMS, "meta": {"offset": 98, "limit": 2, "total": 100}}, {}, None, "first"),
        # The first answer names its size: the same page again, in larger pages.
        ({"data": ITEMS, "pagination": {"page": 3, "limit": 2, "totalPages": 9}}, {},
         PageRequest(params=(("page", "3"), ("limit", "100")), page=3, restart=True), "first"),
        ({"data": ITEMS, "pagination": {"page": 9, "limit": 2, "totalPages": 10}}, {},
         PageRequest(params=(("page", "10"), ("limit", "2")), page=10), "second"),
        # Page 1 of a hub that names its size parameter: page 1 again, in larger pages.
        ({"data": ITEMS, "pagination": {"page": 1, "limit": 2, "totalPages": 9}}, {},
         PageRequest(params=(("page", "1"), ("limit", "100")), page=1, restart=True), "first"),
        ({"data": ITEMS, "pagination": {"page": 9, "limit": 2, "totalPages": 9}}, {}, None, "first"),
        ({"data": ITEMS, "meta": {"page": 1, "pageSize": 2, "hasMore": False}}, {}, None, "first"),
        ({"data": ITEMS, "meta": {"page": 1, "pageSize": 5}}, {}, None, "first"),  # a short page
        ({"data": [], "meta": {"page": 2}}, {}, None, "first"),  # an empty page
        # Totals and hasMore win over a short or empty page.
        ({"data": ITEMS, "meta": {"page": 1, "pageSize": 5, "totalPages": 3}}, {},
         PageRequest(params=(("page", "2"), ("pageSize", "5")), page=2), "second"),
        ({"data": [], "meta": {"page": 2, "hasMore": True}}, {},
         PageRequest(params=(("page", "3"),), page=3), "first"),
        # A 0-based list: the first page again is page 0.
        ({"data": ITEMS, "pagination": {"page": 0, "limit": 2}}, {},
         PageRequest(params=(("page", "0"), ("limit", "100")), page=0, restart=True), "first"),
        (ITEMS, {}, PageRequest(params=(("page", "2"),), page=2), "first"),  # a bare list: guess pages
    ],
)  # fmt: skip
def test_next_request_follows_what_the_answer_says(
    body: Any, headers: dict[str, str], expected: PageRequest | None, asked: str
) -> None:
    """Each pagination style's answer yields the right next request, or the end of the list."""
    page = parse_page(_answer(body, headers), SECOND if asked == "second" else PageRequest())
    assert page is not None
    assert page.items == (body if isinstance(body, list) else body["data"])
    assert page.next == expected


def test_a_bare_list_shorter_than_the_first_page_is_the_last() -> None:
    """Without any size named, a page shorter than the first one ends the list."""
    page = parse_page(_answer(ITEMS), PageRequest(page=2), guessed_size=20)
    assert page is not None
    assert page.next is None


@pytest.mark.parametrize("body", [{"error": "nope"}, "text", 42])
def test_an_answer_that_is_not_a_list_is_none(body: Any) -> None:
    """A body with no list in it is not a page (the read-back then stays ambiguous)."""
    assert parse_page(_answer(body), PageRequest()) is None

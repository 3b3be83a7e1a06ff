"""Reading a paginated list whose pagination nobody promised: learn it from each answer.

The seeds say only that Inter-Hub's lists are "authenticated and paginated". So the client
sends no paging parameter of its own on the first request and takes the server's default
page, then follows what the answer itself says, in this order:

1. an RFC 8288 `Link: <…>; rel="next"` header;
2. a next link in the body (`next`, `nextUrl`, `links.next`, `links.next.href`, …), or a
   cursor (`nextCursor` → `cursor`, `nextPageToken` → `pageToken`, a bare `next` token →
   `cursor`); an explicit `null` ends the list;
3. an offset (`offset` + the number of items read, sent with the size the server named);
4. a page number (`page` + 1, sent with the size parameter the server named, if any).

Where an answer names its size parameter (`limit: 20`), later requests ask for pages of
`WANTED_SIZE` through that parameter, since the server has said it takes it; a page-number
list then starts again at page 1 with the larger size (page numbers depend on the size),
and whatever size the next answer names is kept from then on (a server may clamp it).

A page ends the list when it is empty, when the answer says so (`hasMore: false`, page ≥
`totalPages`, offset or page times size ≥ `total`), or when it holds fewer items than the size
the server named. A bare JSON list (or an object without pagination fields) names nothing:
the client guesses page numbers (`page=2`, …) and stops at an empty page or one shorter
than the first; `readback.py` also stops when a page repeats the previous one (a server
that ignores `page` and returns the whole list each time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

_LIST_KEYS = ("data", "items", "results", "events", "records")
_META_KEYS = ("pagination", "meta", "page_info", "pageInfo", "paging")
_MORE = ("hasMore", "has_more", "hasNext", "has_next", "hasNextPage", "has_next_page")
_NEXT = ("next", "nextUrl", "next_url", "nextLink", "next_link", "nextHref", "next_page_url")
_CURSORS = {
    "nextCursor": "cursor",
    "next_cursor": "cursor",
    "nextPageToken": "pageToken",
    "next_page_token": "page_token",
    "nextToken": "token",
}
_OFFSETS = ("offset", "skip", "start")
_PAGES = ("page", "currentPage", "current_page", "pageNumber", "page_number")
_SIZES = ("limit", "pageSize", "page_size", "perPage", "per_page", "size")
_TOTALS = ("total", "totalCount", "total_count", "totalItems", "total_items", "totalResults")
_TOTAL_PAGES = ("totalPages", "total_pages", "pageCount", "page_count", "lastPage", "last_page")
# Fewer round trips for a scan (five pages of a hub's usual 20 in one), and no larger than
# the common maximum of 100, so a hub that clamps answers with the size it keeps.
WANTED_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    """How to ask for one page: extra query parameters, or a URL the server handed out."""

    params: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    page: int = 1  # the page number asked for (page-number styles; 1 otherwise)
    restart: bool = False  # the list from its start again (in larger pages)


@dataclass(frozen=True, slots=True)
class Page:
    """One answer: its items and how to ask for the next page (None: the list ends)."""

    items: list[Any]
    next: PageRequest | None
    size: int | None  # the page size the server named, if it did


def parse_page(
    response: httpx.Response,
    asked: PageRequest,
    guessed_size: int | None = None,
    *,
    larger: bool = True,
) -> Page | None:
    """The page in a 200 answer, or None when the body is not a list answer at all.

    `guessed_size` is the first page's length, used only when the server names no size;
    `larger=False` keeps the server's page size (after it refused a larger one).
    """
    try:
        body = response.json()
    except ValueError:
        return None
    split = _split(body)
    if split is None:
        return None
    items, meta = split
    size = _int(meta, _SIZES)
    following = _next(response, asked, items, meta, size or guessed_size, larger=larger)
    return Page(items, following, size)


def _split(body: Any) -> tuple[list[Any], dict[str, Any]] | None:
    """(items, pagination fields) of a list answer; top-level fields merged with `meta`."""
    if isinstance(body, list):
        return body, {}
    if not isinstance(body, dict):
        return None
    items = next((body[k] for k in _LIST_KEYS if isinstance(body.get(k), list)), None)
    if items is None:
        return None
    meta = {k: v for k, v in body.items() if k not in _LIST_KEYS}
    for name in _META_KEYS:
        if isinstance(body.get(name), dict):
            meta.update(body[name])
    links = body.get("links", body.get("_links"))
    if isinstance(links, dict) and "next" in links:
        meta["next"] = links["next"]
    return items, meta


def _next(
    response: httpx.Response,
    asked: PageRequest,
    items: list[Any],
    meta: dict[str, Any],
    size: int | None,
    *,
    larger: bool,
) -> PageRequest | None:
    link = response.links.get("next", {}).get("url")
    if link:
        return PageRequest(url=str(response.url.join(link)))
    if any(meta.get(k) is False for k in _MORE):
        return None
    named, linked = _linked(response, meta)
    if named:
        return linked  # followed even from an empty page: the server says there is more
    if not items and not any(meta.get(k) is True for k in _MORE):
        return None
    offset = _int(meta, _OFFSETS)
    if offset is not None:
        return _next_offset(meta, offset + len(items), size, larger)
    return _next_page(meta, asked, len(items), size, larger)


def _linked(response: httpx.Response, meta: dict[str, Any]) -> tuple[bool, PageRequest | None]:
    """(named, next): whether the body names a next link or cursor, and the request (None
    when it names "no next")."""
    for name in _NEXT:
        if name not in meta:
            continue
        value = meta[name]
        if isinstance(value, dict):
            value = value.get("href", value.get("url"))
        if value is None or value == "":
            return True, None
        if isinstance(value, str):
            if value.startswith(("http://", "https://", "/", "?")):
                return True, PageRequest(url=str(response.url.join(value)))
            return True, PageRequest(params=(("cursor", value),))
    for name, param in _CURSORS.items():
        if name in meta:
            value = meta[name]
            cursor = None if value in (None, "") else PageRequest(params=((param, str(value)),))
            return True, cursor
    return False, None


def _next_offset(
    meta: dict[str, Any], offset: int, size: int | None, larger: bool
) -> PageRequest | None:
    total = _int(meta, _TOTALS)
    if total is not None and offset >= total:
        return None
    params = [(_name(meta, _OFFSETS), str(offset))]
    if size is not None:
        # An offset does not depend on the page size: ask for larger pages at once.
        wanted = max(size, WANTED_SIZE) if larger else size
        params.append((_name(meta, _SIZES), str(wanted)))
    return PageRequest(params=tuple(params))


def _next_page(
    meta: dict[str, Any], asked: PageRequest, count: int, size: int | None, larger: bool
) -> PageRequest | None:
    reported = _int(meta, _PAGES)
    page = asked.page if reported is None else reported
    if _last_page(meta, page, count, size):
        return None
    # The body's name for the page number is the query's only where it is a plain one
    # (`current_page` in a body is `page` in the query, as in Laravel).
    page_name = "pageNumber" if "pageNumber" in meta else "page"
    named_size = _int(meta, _SIZES)
    if named_size is None:
        return PageRequest(params=((page_name, str(page + 1)),), page=page + 1)
    size_name = _name(meta, _SIZES)
    first = not asked.params and asked.url is None  # the scan's first request
    if first and larger and named_size < WANTED_SIZE:
        # The first page again (whatever its number), in larger pages; once, as the size
        # asked for is in `asked` from then on.
        wanted = ((page_name, str(page)), (size_name, str(WANTED_SIZE)))
        return PageRequest(params=wanted, page=page, restart=True)
    params = ((page_name, str(page + 1)), (size_name, str(named_size)))
    return PageRequest(params=params, page=page + 1)


def _last_page(meta: dict[str, Any], page: int, count: int, size: int | None) -> bool:
    """Whether `page` is the last: by the page count, the total or `hasMore` where the
    answer gives one (in that order), and only otherwise by a page shorter than its size."""
    total_pages = _int(meta, _TOTAL_PAGES)
    if total_pages is not None:
        return page >= total_pages
    total = _int(meta, _TOTALS)
    if total is not None and size:
        return page * size >= total
    if any(meta.get(k) is True for k in _MORE):
        return False
    return count == 0 or (size is not None and count < size)


def _int(meta: dict[str, Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = meta.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def _name(meta: dict[str, Any], names: tuple[str, ...]) -> str:
    """The first of `names` the answer used (it is also the query parameter's name)."""
    return next((n for n in names if _int(meta, (n,)) is not None), names[0])

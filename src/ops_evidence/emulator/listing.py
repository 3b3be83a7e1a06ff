"""How the emulated Inter-Hub pages a list, in each profile's style (`config.PROFILES`).

| style | query | body |
|---|---|---|
| `page-pagesize` | `page`, `pageSize` | `{"data", "meta": {page, pageSize, total?, hasMore}}` |
| `page-limit` | `page`, `limit` | `{"data", "pagination": {page, limit, total?, totalPages?}}` |
| `offset-limit` | `offset`, `limit` | `{"data", "meta": {offset, limit, total?}}` |
| `cursor` | `cursor`, `limit` | `{"data", "nextCursor": "…" or null}` |
| `next-link` | (the link) | `{"data", "links": {"next": "/api/v2/…?cursor=…" or null}}` |
| `bare-list` | `page`, `limit` | `[...]` |

A cursor is keyset-based (the last row's position), so it stays valid as events arrive.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from starlette.requests import Request

from ops_evidence.emulator.config import EmulatorConfig, ListingConfig
from ops_evidence.emulator.replies import ApiError, int_param
from ops_evidence.emulator.store import Listing, Window

_SIZE_PARAM = {"page-pagesize": "pageSize"}


def window(request: Request, config: EmulatorConfig) -> Window:
    """The slice a list request asks for, in the configured style; 400 for bad values."""
    lists = config.lists
    size_param = _SIZE_PARAM.get(lists.style, "limit")
    size = min(int_param(request, size_param, lists.default_size), config.max_page_size)
    if lists.style in ("cursor", "next-link"):
        return Window(0, size, lists.newest_first, _cursor(request.query_params.get("cursor")))
    if lists.style == "offset-limit":
        offset = int_param(request, "offset", 0, minimum=0)
        return Window(offset, size, lists.newest_first)
    page = int_param(request, "page", 1)
    return Window((page - 1) * size, size, lists.newest_first)


def body(request: Request, lists: ListingConfig, window: Window, listing: Listing) -> Any:
    """The list answer for `listing`, shaped as the style says."""
    items, size = listing.items, window.limit
    page = window.offset // size + 1
    total = {"total": listing.total} if lists.totals else {}
    if lists.style == "bare-list":
        return items
    if lists.style == "page-pagesize":
        meta = {"page": page, "pageSize": size, **total, "hasMore": listing.more}
        return {"data": items, "meta": meta}
    if lists.style == "page-limit":
        if lists.totals:
            total["totalPages"] = max(1, math.ceil(listing.total / size))
        return {"data": items, "pagination": {"page": page, "limit": size, **total}}
    if lists.style == "offset-limit":
        return {"data": items, "meta": {"offset": window.offset, "limit": size, **total}}
    cursor = _encode(listing.last_seq) if listing.more and listing.last_seq else None
    if lists.style == "cursor":
        return {"data": items, "nextCursor": cursor}
    link = None
    if cursor is not None:
        query = request.url.include_query_params(cursor=cursor).query
        link = f"{request.url.path}?{query}"
    return {"data": items, "links": {"next": link}}


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _cursor(value: str | None) -> int | None:
    if not value:
        return None
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        return int(text.removeprefix("seq:"))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_cursor", "cursor is not one this server issued") from None

"""Read-back after an ambiguous attempt: did the event land? Assumes only what the seeds say.

The seeds promise an authenticated, paginated `GET /api/v2/interaction-events` filtered by
`widgetId` and `eventType`, and nothing else. So:

- pagination is learned from the answers (`pages.py`); the client never asks for a page
  size of its own beyond one the hub names;
- `idempotencyKey` is only a hint: one hinted request per read-back proves presence when
  the key is in its answer; other keys in it show the hub ignores the hint (not sent
  again); a 4xx drops it; an empty answer proves nothing. The client always matches
  `metadata.idempotencyKey` itself;
- the list is walked by ONE scan per widget and type, shared by every read-back it is valid
  for: one whose delivery's last possible post ended before the scan began (so its event,
  had it landed, was in the list the scan reads). Each read-back takes the scan's lock,
  checks what it has seen, and reads on where it stopped; the next one goes on from there.
  A backlog with many ambiguous deliveries on one list costs one walk, not one each;
- the walk is bounded by time, not by a page count: `occurredAt` is server-set, and the
  event cannot have been stamped before the delivery's first attempt (or, once a scan
  proved it absent and it was posted again, before that scan began). In a newest-first
  list the event is absent once the scan has read back past that time (less the hub's
  clock offset, learned from its stamps, and a margin). The order is learned from the
  items' times; an oldest-first or unordered list (or one without times) proves absence
  only when read to its end;
- a read-back reads at most `page_budget` pages, for at most `time_budget` seconds (and
  waits at most as long for the lock); the next attempt resumes the same walk (new events
  only push older ones further back in a newest-first list, and leave an oldest-first one
  as it was, so resuming at the same place skips nothing);
- it never decides "absent" from a walk that did not get far enough: a failed page, a
  429, a 401/403, an answer that is not a list, a page repeated (the hub does not page as
  understood) or the budget leave the delivery ambiguous.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
import httpx

from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.base import Attempt, AttemptKind
from ops_evidence.delivery.sinks.classify import classify_exception, classify_response
from ops_evidence.delivery.sinks.pages import Page, PageRequest, parse_page

Get = Callable[[httpx.URL | str, list[tuple[str, str]]], Awaitable[httpx.Response]]
# Pages per attempt: with pages of 100, 5,000 events; the scan resumes at the next attempt.
PAGE_BUDGET = 50
# With no stamp seen at all, the hub's clock may be this far behind ours.
UNKNOWN_SKEW = 600.0
# Beyond the learned offset: slack for a clock stepped meanwhile, and for an `occurredAt`
# kept in whole seconds (one more second is allowed when the times seen have no fraction).
SKEW_MARGIN = 1.0
# Memory bounds: per-key proofs and settled times kept; scans kept (one per widget and type).
MAX_KEYS = 10_000
MAX_LISTS = 1_000
# Seconds of reading per attempt (and of waiting for another read-back's scan): the sink
# sets it from its timeout so that join, scan and post fit in the delivery's lease.
TIME_BUDGET = 10.0
ORDER_JITTER = 1.0
_TIME_KEYS = ("occurredAt", "occurred_at", "createdAt", "created_at", "timestamp")


class ClockOffset:
    """A lower bound on (the clock that stamps `occurredAt` - our clock).

    Learned from the stamps themselves, not from `Date` (a proxy's clock may differ from
    the one that stamps events): an event we receive was stamped before we received it, so
    `stamp - received_at` is at most the true offset for any event in an answer (the newest
    one gives the tightest sample; the event a POST answer returns, the tightest of all).
    The largest of the recent samples is kept.
    """

    def __init__(self, samples: int = 16) -> None:
        self._samples: deque[float] = deque(maxlen=samples)

    def observe(self, stamps: list[float], received_at: float) -> None:
        """Take a sample from the newest stamp in an answer."""
        if stamps:
            self._samples.append(max(stamps) - received_at)

    def lower_bound(self) -> float | None:
        """The offset's lower bound (seconds), or None before any sample."""
        return max(self._samples) if self._samples else None


@dataclass
class Scan:
    """One walk down a widget's list of one event type; shared by the read-backs it serves."""

    started_at: float  # our clock: when its first page was asked for
    next: PageRequest = field(default_factory=PageRequest)
    pages: int = 0
    done: bool = False  # the end of the list was reached
    keys: set[str] = field(default_factory=set)  # every key read
    oldest: float = math.inf  # the oldest time read
    whole_seconds: bool = True  # every time read had no fraction
    first_size: int | None = None
    previous_items: list[Any] | None = None
    last_time: float | None = None
    rise: float = 0.0  # the largest step forward in time between consecutive new items
    fall: float = 0.0  # the largest step back
    base: Scan | None = None  # the older scan of the list this one replaced

    def learn_order(self, times: list[float]) -> None:
        """Take the steps between consecutive items' times (across pages) into account."""
        for moment in times:
            if self.last_time is not None:
                step = moment - self.last_time
                self.rise, self.fall = max(self.rise, step), max(self.fall, -step)
            self.last_time = moment
            self.oldest = min(self.oldest, moment)
            self.whole_seconds = self.whole_seconds and moment.is_integer()

    def newest_first(self) -> bool:
        """Newest first so far: times fall, and never rise by more than stamping jitter
        (a hub may commit concurrent requests a little out of their `occurredAt` order)."""
        return self.fall > 0 and self.rise <= ORDER_JITTER

    def covered_from(self) -> float:
        """The hub time from which every event stored before `started_at` has been read."""
        if self.done:
            return -math.inf
        if self.newest_first():
            return self.oldest + ORDER_JITTER  # later pages are older, up to the jitter
        return math.inf


class ReadBack:
    """Answers "is this delivery's key already stored?" with as few reads as it can."""

    def __init__(
        self,
        get: Get,
        url: httpx.URL,
        *,
        clock: Callable[[], float] = time.time,
        page_budget: int = PAGE_BUDGET,
        time_budget: float = TIME_BUDGET,
    ) -> None:
        self._get = get
        self._url = url
        self._clock = clock
        self.page_budget = page_budget
        self.time_budget = time_budget
        self.offset = ClockOffset()
        self.hint = True  # send idempotencyKey until the hub shows it ignores or refuses it
        self.larger = True  # ask for larger pages until the hub refuses them
        self.scans: OrderedDict[tuple[str | None, str], Scan] = OrderedDict()
        self._locks: dict[tuple[str | None, str], anyio.Lock] = {}
        # Per key, when a scan that proved it absent began: it was posted again after that.
        self._proven: OrderedDict[str, float] = OrderedDict()
        # Per key, when its last possible post had ended, kept across read-back attempts
        # that ended without posting (their own end is no post).
        self._settled: OrderedDict[str, float] = OrderedDict()
        # An attempt of a process that ended did so before this one began.
        self._began = clock()
        self._sampled_at = -math.inf  # when a POST answer last gave a clock sample

    def observe_created(self, response: httpx.Response) -> None:
        """Learn the hub's clock from the event a POST answer returns, if it returns one.

        At most once a second: decoding every answer would add a JSON parse to each
        delivery, and the offset does not move faster than that.
        """
        now = self._clock()
        if now - self._sampled_at < 1.0:
            return
        self._sampled_at = now
        try:
            body = response.json() if response.content else None
        except ValueError:
            return
        data = body.get("data", body) if isinstance(body, dict) else None
        stamp = _time_of(data)
        if stamp is not None:
            self.offset.observe([stamp], now)

    async def check(self, delivery: Delivery) -> Attempt | None:
        """`duplicate` if stored; None if surely absent; otherwise an ambiguous failure."""
        ended_by = self._ended_by(delivery)
        outcome = await self._hinted(delivery) if self.hint else None
        if outcome is None:
            outcome = await self._through_scan(delivery, ended_by)
        if outcome is not None and outcome.kind != "duplicate":
            _put(self._settled, delivery.key, ended_by)  # no post in this attempt
        else:
            self._settled.pop(delivery.key, None)
        return outcome

    async def _through_scan(self, delivery: Delivery, ended_by: float) -> Attempt | None:
        ident = (delivery.widget_id, delivery.event_type)
        lock = self._locks.setdefault(ident, anyio.Lock())
        with anyio.move_on_after(self.time_budget):
            async with lock:
                return await self._walk(delivery, ident, ended_by)
        return Attempt(
            "transient",
            error="read-back: waited for another read-back's scan "
            "of the same list; resumes at the next attempt",
            ambiguous=True,
        )

    async def _walk(
        self, delivery: Delivery, ident: tuple[str | None, str], ended_by: float
    ) -> Attempt | None:
        scan = self.scans.get(ident)
        if scan is None or scan.started_at < ended_by:
            # One that began after this delivery's last post; it takes the older one over
            # once it has read back to where that one began (`_join_base`).
            scan = Scan(self._clock(), base=scan)
            _put(self.scans, ident, scan, MAX_LISTS)
        deadline = self._clock() + self.time_budget
        for _ in range(self.page_budget):
            verdict = self._verdict(delivery, scan)
            if verdict is not False:
                return verdict
            if self._clock() > deadline:
                break
            failure = await self._read(delivery, ident, scan)
            if failure is not None:
                return failure
        verdict = self._verdict(delivery, scan)  # what the last page read showed
        if verdict is not False:
            return verdict
        return Attempt(
            "transient",
            error=f"read-back unfinished after {scan.pages} pages; resumes at the next attempt",
            ambiguous=True,
        )

    def _verdict(self, delivery: Delivery, scan: Scan) -> Attempt | Literal[False] | None:
        """What the scan has shown so far: `duplicate`, None for absent, False: read on."""
        if delivery.key in scan.keys:
            return Attempt("duplicate", http_status=200)
        since = self._since(delivery)
        if scan.covered_from() <= self.cutoff(since, whole_seconds=scan.whole_seconds):
            _put(self._proven, delivery.key, scan.started_at)
            return None
        return False

    def _since(self, delivery: Delivery) -> float:
        """Our-clock time before which the delivery's event cannot have been stored: its
        first attempt, or the start of the last scan that proved it absent."""
        first = delivery.first_attempt_at or delivery.created_at
        return max(first, self._proven.get(delivery.key, first))

    def _ended_by(self, delivery: Delivery) -> float:
        """A time by which every earlier post of the delivery had ended (our clock)."""
        settled = self._settled.get(delivery.key)
        return settled if settled is not None else max(delivery.updated_at, self._began)

    def cutoff(self, since: float, *, whole_seconds: bool) -> float:
        """The hub-clock time before which an event first attempted at `since` (our clock)
        cannot have been stamped (the offset as learned by now)."""
        offset = self.offset.lower_bound()
        if offset is None:
            return since - UNKNOWN_SKEW
        return since + offset - SKEW_MARGIN - (1.0 if whole_seconds else 0.0)

    async def _hinted(self, delivery: Delivery) -> Attempt | None:
        """One request with the key hint: `duplicate` if the key is in its answer, an
        ambiguous failure if it failed, None when it proves nothing (scan the list)."""
        params = [*self._filters(delivery), ("idempotencyKey", delivery.key)]
        try:
            response = await self._get(self._url, params)
        except httpx.HTTPError as exc:
            return _ambiguous(classify_exception(exc))
        received = self._clock()
        page = parse_page(response, PageRequest()) if response.is_success else None
        if page is None:
            attempt = classify_response(response)
            if attempt.kind in ("rejected", "undeclared") or response.is_success:
                self.hint = False  # refused, or not a list: the scan decides
                return None
            return _ambiguous(attempt)
        self.offset.observe([t for t in map(_time_of, page.items) if t is not None], received)
        keys = {k for k in map(_key_of, page.items) if isinstance(k, str)}
        if delivery.key in keys:
            return Attempt("duplicate", http_status=response.status_code)
        if keys:
            self.hint = False  # other keys: the hub ignores the hint
        return None

    def _filters(self, delivery: Delivery) -> list[tuple[str, Any]]:
        return [("widgetId", delivery.widget_id), ("eventType", delivery.event_type)]

    async def _read(
        self, delivery: Delivery, ident: tuple[str | None, str], scan: Scan
    ) -> Attempt | None:
        """Read the scan's next page into it; an ambiguous failure, or None."""
        asked = scan.next
        if asked.url is not None and not _same_origin(asked.url, self._url):
            # The key goes with every read: never to a host the operator did not configure.
            error = "read-back: the hub's next link points to another origin"
            return Attempt("transient", error=error, ambiguous=True)
        target: tuple[Any, list[Any]] = (asked.url, [])
        if asked.url is None:
            target = (self._url, [*self._filters(delivery), *asked.params])
        try:
            response = await self._get(*target)
        except httpx.HTTPError as exc:
            return _ambiguous(classify_exception(exc))
        received = self._clock()
        page = None
        if response.is_success:
            page = parse_page(response, asked, scan.first_size, larger=self.larger)
        if page is None:
            return self._failed(ident, response)
        if page.items == scan.previous_items and not asked.restart:
            self.scans.pop(ident, None)
            error = "read-back: the hub answered the same page twice (paging not understood)"
            return Attempt("transient", response.status_code, error, ambiguous=True)
        self.offset.observe([t for t in map(_time_of, page.items) if t is not None], received)
        _take(scan, page)
        self._join_base(scan)
        return None

    def _join_base(self, scan: Scan) -> None:
        """Take over the older scan this one replaced, once it has read back past the time
        that one began: from there down, the older scan saw every event stored before it
        began, and everything stored since is newer and read by this one."""
        base = scan.base
        if base is None or not scan.newest_first():
            return
        if scan.covered_from() > self.cutoff(base.started_at, whole_seconds=True):
            return
        scan.keys |= base.keys
        scan.oldest, scan.done = min(scan.oldest, base.oldest), base.done
        scan.rise, scan.fall = max(scan.rise, base.rise), max(scan.fall, base.fall)
        scan.whole_seconds = scan.whole_seconds and base.whole_seconds
        scan.next, scan.pages, scan.base = base.next, max(scan.pages, base.pages), base.base
        scan.last_time, scan.previous_items = base.last_time, None

    def _failed(self, ident: tuple[str | None, str], response: httpx.Response) -> Attempt:
        attempt = classify_response(response)
        if response.is_success:
            error = f"read-back: {response.status_code} answer is not a list"
            attempt = Attempt("transient", response.status_code, error)
        elif attempt.kind in ("rejected", "undeclared"):
            # A 4xx for the list itself: the larger page or a cursor gone stale. The next
            # read-back starts a new scan without either; a hub that refuses the plain
            # first page keeps the delivery ambiguous.
            self.larger = False
            self.scans.pop(ident, None)
        return _ambiguous(attempt)


def _take(scan: Scan, page: Page) -> None:
    """Add a page's keys, times and next request to the scan."""
    if scan.pages == 0:
        scan.first_size = len(page.items)
    if scan.next.restart:
        scan.last_time = None  # the list from its newest again: not a step back in time
    # Only events not read before: those arriving meanwhile repeat across pages.
    fresh = [i for i in page.items if (k := _key_of(i)) is None or k not in scan.keys]
    scan.keys |= {k for k in map(_key_of, page.items) if isinstance(k, str)}
    scan.learn_order([t for t in map(_time_of, fresh) if t is not None])
    scan.previous_items = page.items
    if page.next is None:
        scan.done = True
    else:
        scan.next, scan.pages = page.next, scan.pages + 1


def _put(table: OrderedDict[Any, Any], key: Any, value: Any, limit: int = MAX_KEYS) -> None:
    """Set `table[key]` as the newest entry, dropping the oldest beyond `limit`."""
    table[key] = value
    table.move_to_end(key)
    while len(table) > limit:
        table.popitem(last=False)


def _same_origin(url: str, base: httpx.URL) -> bool:
    other = httpx.URL(url)
    return (other.scheme, other.host, other.port) == (base.scheme, base.host, base.port)


def _ambiguous(attempt: Attempt) -> Attempt:
    kind: AttemptKind = "auth" if attempt.kind == "auth" else "transient"
    return Attempt(kind, attempt.http_status, attempt.error, attempt.retry_after, ambiguous=True)


def _key_of(item: Any) -> Any:
    metadata = item.get("metadata") if isinstance(item, dict) else None
    if isinstance(metadata, str):
        # Some APIs hand a JSON column back as text.
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return None
    return metadata.get("idempotencyKey") if isinstance(metadata, dict) else None


def _time_of(item: Any) -> float | None:
    if not isinstance(item, dict):
        return None
    value = next((item[k] for k in _TIME_KEYS if isinstance(item.get(k), str)), None)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()

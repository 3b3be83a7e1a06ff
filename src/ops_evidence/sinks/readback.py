"""Read-back after an ambiguous attempt: did the event land? Assumes only what the seeds say.

The seeds promise an authenticated, paginated `GET /api/v2/interaction-events` filtered by
`widgetId` and `eventType`, and nothing else. So the scan:

- learns the pagination from the answers (`pages.py`), never asks for a page size;
- sends `idempotencyKey` only as a hint (a server that honours it answers with just the
  match; one that ignores it answers the unfiltered page; one that refuses it with a 4xx
  is asked again without it), and always matches `metadata.idempotencyKey` itself;
- is bounded by time, not by a page count: `occurredAt` is server-set, and the event cannot
  have been stored before the delivery's first attempt. In a newest-first list the scan
  stops at the first event older than that (minus a margin for clock skew, learned from the
  stamps of the events it receives). The order is learned from the items' times; an
  oldest-first or unordered list (or one without times) is read to its end. A delivery
  whose earlier scan proved it absent (before it was posted again) needs to look back only
  to that scan's start;
- reads at most `page_budget` pages, for at most `time_budget` seconds, per attempt, and
  resumes where it stopped at the next attempt (new events only push older ones further
  back in a newest-first list, and leave an oldest-first one as it was, so resuming at the
  same place skips nothing);
- shares what it saw: the keys and time span of the last finished scan of each widget and
  type answer later read-backs on it, when that scan began after their last attempt ended
  (so their event, had it landed, was in the list it read) and reached back far enough.
  A backlog drained with many ambiguous failures then costs one scan for many of them;
- never decides "absent" from a scan that did not finish: a failed page, a 429, a 401/403,
  an answer that is not a list, a page repeated (the hub does not page as understood) or
  an unfinished budget leave the delivery ambiguous. An answer to the key hint proves only
  presence: one without other keys in it is read again without the hint.
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

from ops_evidence.outbox.models import Delivery
from ops_evidence.sinks.base import Attempt, AttemptKind
from ops_evidence.sinks.classify import classify_exception, classify_response
from ops_evidence.sinks.pages import Page, PageRequest, parse_page

Get = Callable[[httpx.URL | str, list[tuple[str, str]]], Awaitable[httpx.Response]]
# Pages per attempt: with pages of 100, 5,000 events; the scan resumes at the next attempt.
PAGE_BUDGET = 50
# With no `Date` header seen at all, the hub's clock may be this far behind ours.
UNKNOWN_SKEW = 600.0
# Beyond the learned offset: slack for a clock stepped meanwhile, and for an `occurredAt`
# kept in whole seconds (one more second is allowed when the times seen have no fraction).
SKEW_MARGIN = 1.0
# Memory bounds: interrupted scans and proofs kept per key; shared scans kept (one per
# widget and type, the most recently finished) and the keys each may hold.
MAX_SCANS = 10_000
MAX_SEEN_LISTS = 1_000
MAX_SEEN_KEYS = 50_000
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


@dataclass(frozen=True, slots=True)
class Seen:
    """What a finished scan of one widget and type saw: every event stored before
    `started_at` (our clock) whose time is at least `covered_from` (the hub's) is in `keys`."""

    started_at: float
    covered_from: float
    keys: frozenset[str]


@dataclass
class Scan:
    """Where a read-back for one key stands; kept across attempts to resume."""

    first_attempt: float  # our clock: the event cannot have been stored before this
    started_at: float = 0.0  # our clock: when its first page was asked for
    keys: set[str] = field(default_factory=set)  # every key read (without the key hint)
    oldest: float = math.inf  # the oldest time read
    hint_used: bool = False  # a page was asked for with the key hint (it may be filtered)
    next: PageRequest = field(default_factory=PageRequest)
    pages: int = 0
    first_size: int | None = None
    previous_items: list[Any] | None = None
    no_hint: bool = False  # read without the key hint (its answer proved nothing)
    last_time: float | None = None
    rise: float = 0.0  # the largest step forward in time between consecutive items
    fall: float = 0.0  # the largest step back

    def learn_order(self, times: list[float]) -> None:
        """Take the steps between consecutive items' times (across pages) into account."""
        for moment in times:
            if self.last_time is not None:
                step = moment - self.last_time
                self.rise, self.fall = max(self.rise, step), max(self.fall, -step)
            self.last_time = moment

    def newest_first(self) -> bool:
        """Newest first so far: times fall, and never rise by more than stamping jitter
        (a hub may commit concurrent requests a little out of their `occurredAt` order)."""
        return self.fall > 0 and self.rise <= ORDER_JITTER


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
        self.shared = 0  # read-backs answered by an earlier scan, without a request
        self._scans: OrderedDict[str, Scan] = OrderedDict()
        # Per key, when a scan that proved it absent began: it was posted again after that.
        self._proven: OrderedDict[str, float] = OrderedDict()
        self._seen: OrderedDict[tuple[str | None, str], Seen] = OrderedDict()
        # Per widget and type, the scan in progress: when it began, and its end.
        self._running: dict[tuple[str | None, str], tuple[float, anyio.Event]] = {}
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
        ident = (delivery.widget_id, delivery.event_type)
        running = self._running.get(ident)
        if running is not None and running[0] >= self._ended_by(delivery):
            # A scan of the same list that began after our attempt ended: its answer may
            # be ours too (after a restart, every claimed delivery reads back at once).
            with anyio.move_on_after(self.time_budget):
                await running[1].wait()
        known = self._known(delivery)
        if known is not None:
            self.shared += 1
            return None if known is False else known
        done = anyio.Event()
        if ident not in self._running:
            self._running[ident] = (self._clock(), done)
        try:
            return await self._scan(delivery)
        finally:
            done.set()
            if self._running.get(ident, (0.0, None))[1] is done:
                del self._running[ident]

    async def _scan(self, delivery: Delivery) -> Attempt | None:
        scan = self._scans.pop(delivery.key, None)
        if scan is None:
            scan = Scan(self._since(delivery), self._clock())
        else:
            scan.previous_items = None  # a page read at another time may repeat legitimately
        deadline = self._clock() + self.time_budget
        for _ in range(self.page_budget):
            done, outcome = await self._read(delivery, scan)
            if done:
                return outcome
            if self._clock() > deadline:
                break
        self._keep(delivery.key, scan)
        return Attempt("transient", error=f"read-back unfinished after {scan.pages} pages; "
                       "resumes at the next attempt", ambiguous=True)  # fmt: skip

    def _since(self, delivery: Delivery) -> float:
        """Our-clock time before which the delivery's event cannot have been stored: its
        first attempt, or the start of the last scan that proved it absent."""
        first = delivery.first_attempt_at or delivery.created_at
        return max(first, self._proven.get(delivery.key, first))

    def _ended_by(self, delivery: Delivery) -> float:
        """A time by which every earlier attempt of the delivery had ended (our clock)."""
        return max(delivery.updated_at, self._began)

    def _known(self, delivery: Delivery) -> Attempt | Literal[False] | None:
        """From the last finished scan of this widget and type: `duplicate`, False for
        surely absent, None when that scan cannot tell."""
        seen = self._seen.get((delivery.widget_id, delivery.event_type))
        if seen is None:
            return None
        if delivery.key in seen.keys:
            return Attempt("duplicate", http_status=200)
        if seen.started_at < self._ended_by(delivery):
            return None
        if seen.covered_from > self.cutoff(self._since(delivery), whole_seconds=True):
            return None
        self._prove(delivery.key, seen.started_at)
        return False

    def _prove(self, key: str, started_at: float) -> None:
        """Record that a scan begun at `started_at` showed `key` absent."""
        self._proven[key] = started_at
        self._proven.move_to_end(key)
        while len(self._proven) > MAX_SCANS:
            self._proven.popitem(last=False)

    def _remember(self, delivery: Delivery, scan: Scan, covered_from: float) -> None:
        """Keep a finished scan made without the key hint, for later read-backs."""
        self._prove(delivery.key, scan.started_at)
        if scan.hint_used or len(scan.keys) > MAX_SEEN_KEYS:
            return
        ident = (delivery.widget_id, delivery.event_type)
        old = self._seen.get(ident)
        if old is None or old.started_at <= scan.started_at:
            self._seen[ident] = Seen(scan.started_at, covered_from, frozenset(scan.keys))
            self._seen.move_to_end(ident)
            while len(self._seen) > MAX_SEEN_LISTS:
                self._seen.popitem(last=False)

    def cutoff(self, since: float, *, whole_seconds: bool) -> float:
        """The hub-clock time before which an event first attempted at `since` (our clock)
        cannot have been stamped.

        Taken when a page is checked, not when the scan starts: the first page's stamps
        already tell the offset to a process that has not talked to the hub before.
        """
        offset = self.offset.lower_bound()
        if offset is None:
            return since - UNKNOWN_SKEW
        return since + offset - SKEW_MARGIN - (1.0 if whole_seconds else 0.0)

    def _keep(self, key: str, scan: Scan) -> None:
        self._scans[key] = scan
        while len(self._scans) > MAX_SCANS:
            self._scans.popitem(last=False)

    async def _read(self, delivery: Delivery, scan: Scan) -> tuple[bool, Attempt | None]:
        """Read the next page: (True, outcome) when the scan is over for this attempt."""
        if scan.next.url is not None and not _same_origin(scan.next.url, self._url):
            # The key goes with every read: never to a host the operator did not configure.
            error = "read-back: the hub's next link points to another origin"
            return True, Attempt("transient", error=error, ambiguous=True)
        try:
            response = await self._get(*self._ask(delivery, scan))
        except httpx.HTTPError as exc:
            self._keep(delivery.key, scan)
            return True, _ambiguous(classify_exception(exc))
        received = self._clock()
        page = None
        if response.is_success:
            page = parse_page(response, scan.next, scan.first_size, larger=self.larger)
        if page is None:
            return True, self._failed(delivery, scan, response)
        self.offset.observe([t for t in map(_time_of, page.items) if t is not None], received)
        return self._judge(delivery, scan, page, response.status_code)

    def _judge(
        self, delivery: Delivery, scan: Scan, page: Page, status: int
    ) -> tuple[bool, Attempt | None]:
        """What one page says: found, absent (the scan is over), or read on."""
        keys = {k for k in map(_key_of, page.items) if isinstance(k, str)}
        if delivery.key in keys:
            return True, Attempt("duplicate", http_status=status)
        if scan.hint_used and not keys:
            # An answer to the hint proves presence only: perhaps the hub filtered on a
            # field it does not have. Read the list again without it.
            scan.hint_used, scan.no_hint, scan.next = False, True, PageRequest()
            return False, None
        if scan.hint_used:
            self.hint, scan.hint_used = False, False  # other keys: the hub ignores the hint
        if page.items == scan.previous_items and not scan.next.restart:
            error = "read-back: the hub answered the same page twice (paging not understood)"
            return True, Attempt("transient", status, error, ambiguous=True)
        covered_from = self._exhausted(scan, page, keys)
        if covered_from is None and page.next is not None:
            scan.next, scan.pages = page.next, scan.pages + 1
            return False, None
        # The list ended (all of it was read), or it reached events too old to matter.
        self._remember(delivery, scan, -math.inf if covered_from is None else covered_from)
        return True, None

    def _request(self, delivery: Delivery, scan: Scan) -> tuple[Any, list[Any]]:
        asked = scan.next
        if asked.url is not None:
            return asked.url, []
        params = [("widgetId", delivery.widget_id), ("eventType", delivery.event_type)]
        if self.hint and not scan.no_hint:
            params.append(("idempotencyKey", delivery.key))
        return self._url, [*params, *asked.params]

    def _ask(self, delivery: Delivery, scan: Scan) -> tuple[Any, list[Any]]:
        url, params = self._request(delivery, scan)
        scan.hint_used = scan.hint_used or any(name == "idempotencyKey" for name, _ in params)
        return url, params

    def _failed(self, delivery: Delivery, scan: Scan, response: httpx.Response) -> Attempt:
        attempt = classify_response(response)
        if response.is_success:
            error = f"read-back: {response.status_code} answer is not a list"
            attempt = Attempt("transient", response.status_code, error)
        elif attempt.kind in ("rejected", "undeclared"):
            # A 4xx for the list itself: the hint, the larger page or a cursor gone stale.
            # Start again without any of them next time; a hub that refuses the plain
            # first page keeps the delivery ambiguous.
            self.hint = self.larger = False
            return _ambiguous(attempt)
        self._keep(delivery.key, scan)
        return _ambiguous(attempt)

    def _exhausted(self, scan: Scan, page: Page, keys: set[str]) -> float | None:
        """When no later page can hold the key (it reached older events), the hub time
        from which the scan saw everything; None to read on."""
        if scan.pages == 0:
            scan.first_size = len(page.items)
        scan.previous_items = page.items
        if scan.next.restart:
            scan.last_time = None  # the list from its newest again: not a step back in time
        # Only events not read before: those arriving meanwhile repeat across pages.
        fresh = [i for i in page.items if (k := _key_of(i)) is None or k not in scan.keys]
        scan.keys |= keys
        times = [t for t in map(_time_of, fresh) if t is not None]
        scan.learn_order(times)
        scan.oldest = min([scan.oldest, *times])
        if not times or not scan.newest_first():
            return None
        whole = all(t.is_integer() for t in times)
        if min(times) >= self.cutoff(scan.first_attempt, whole_seconds=whole):
            return None
        # Newest first, up to stamping jitter: everything since this page's oldest was read.
        return scan.oldest + ORDER_JITTER


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

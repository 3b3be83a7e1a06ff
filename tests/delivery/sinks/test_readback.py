"""The read-back against every list style the emulator serves: found far back, never re-posted.

Each test runs the real Inter-Hub sink against the emulator (in process) in each strict
profile and in the friendly one. Events are posted through the sink itself, so the stored
documents are exactly what a hub holds.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest
from pydantic import SecretStr

from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.inter_hub import InterHubSink
from ops_evidence.delivery.sinks.inter_hub_client import InterHubClient
from ops_evidence.emulator import create_app
from ops_evidence.emulator.config import PROFILES, FaultConfig
from ops_evidence.events.wire import canonical_json, interaction_event_body
from tests.emulator.conftest import ASGI_BASE, KEY, hub_config
from tests.factories import endpoint_event

pytestmark = pytest.mark.anyio
WIDGET = "widget-ops-endpoint-verified"
EARLIER = 250


class Counting(httpx.AsyncBaseTransport):
    """ASGITransport that counts the requests by method."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.counts: dict[str, int] = {"GET": 0, "POST": 0}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Count, then pass on."""
        if request.url.path.startswith("/api/"):
            self.counts[request.method] = self.counts.get(request.method, 0) + 1
        return await self.inner.handle_async_request(request)


@dataclasses.dataclass
class Hub:
    """A client on an emulator, and the count of API requests it made."""

    client: httpx.AsyncClient
    counts: dict[str, int]


@asynccontextmanager
async def hub(
    profile: str, faults: FaultConfig | None = None, max_page_size: int = 100
) -> AsyncIterator[Hub]:
    """An in-process emulator whose lists behave as `profile` says."""
    config = hub_config(
        profile=profile, faults=faults or FaultConfig(), max_page_size=max_page_size
    )
    app = create_app(config)
    transport = Counting(httpx.ASGITransport(app=app))
    async with httpx.AsyncClient(transport=transport, base_url=ASGI_BASE) as client:
        yield Hub(client, transport.counts)


def _sink(transport: Hub) -> InterHubSink:
    return InterHubSink(
        InterHubClient(transport.client, ASGI_BASE, SecretStr(KEY), allow_insecure_http=True)
    )


def _delivery(first_attempt_at: float, *, ambiguous: bool = True) -> Delivery:
    event = endpoint_event()
    body = canonical_json(interaction_event_body(event, WIDGET))
    return Delivery(
        event.idempotency_key,
        "inter-hub",
        "retrying",
        1,
        0.0,
        body,
        WIDGET,
        event.event_type,
        event.context_key,
        first_attempt_at,
        first_attempt_at,
        ambiguous=ambiguous,
        first_attempt_at=first_attempt_at,
    )


async def _post_others(sink: InterHubSink, count: int) -> None:
    for _ in range(count):
        assert (await sink.send(_delivery(time.time(), ambiguous=False))).kind == "delivered"


async def _stored(transport: Hub) -> int:
    total: int = (await transport.client.get("/_emulator/counts")).json()["interaction_events"]
    return total


@pytest.mark.parametrize("profile", tuple(PROFILES))
async def test_event_stored_250_events_earlier_is_found_not_reposted(profile: str) -> None:
    """An ambiguous delivery whose event landed 250 events ago reads back as a duplicate."""
    async with hub(profile) as transport:
        sink = _sink(transport)
        target = _delivery(time.time(), ambiguous=False)
        assert (await sink.send(target)).kind == "delivered"
        await _post_others(sink, EARLIER)
        posts = transport.counts["POST"]
        attempt = await sink.send(dataclasses.replace(target, ambiguous=True))
        assert (attempt.kind, transport.counts["POST"]) == ("duplicate", posts)
        assert await _stored(transport) == EARLIER + 1


@pytest.mark.parametrize("profile", ["minimal", "page-size", "oldest-first"])
async def test_a_hub_that_clamps_the_larger_page_is_read_in_its_own_size(profile: str) -> None:
    """Asked for pages of 100, a hub that keeps 20 answers page 1 again: not the list's end."""
    async with hub(profile, max_page_size=20) as transport:
        sink = _sink(transport)
        target = _delivery(time.time(), ambiguous=False)
        assert (await sink.send(target)).kind == "delivered"
        await _post_others(sink, 45)
        attempt = await sink.send(dataclasses.replace(target, ambiguous=True))
        assert attempt.kind == "duplicate"
        assert await _stored(transport) == 46


@pytest.mark.parametrize("profile", tuple(PROFILES))
async def test_absent_event_is_posted_once_after_a_whole_scan(profile: str) -> None:
    """An ambiguous delivery that never landed is posted once the scan shows it absent."""
    async with hub(profile) as transport:
        sink = _sink(transport)
        delivery = _delivery(time.time())
        await _post_others(sink, EARLIER)
        attempt = await sink.send(delivery)
        assert attempt.kind == "delivered"
        assert await _stored(transport) == EARLIER + 1


@pytest.mark.parametrize("profile", ["minimal", "cursor", "bare-list"])
async def test_newest_first_scan_stops_at_events_older_than_the_first_attempt(
    profile: str,
) -> None:
    """In a newest-first list, events older than the first attempt end the scan at once."""
    async with hub(profile) as transport:
        sink = _sink(transport)
        await _post_others(sink, EARLIER)
        gets = transport.counts["GET"]
        # First attempted an hour after all of them: no need to look past the first page.
        later = _delivery(time.time() + 3600)
        assert (await sink.send(later)).kind == "delivered"
        assert transport.counts["GET"] - gets == 2  # the hinted request, then one page


@pytest.mark.parametrize("profile", ["minimal", "offset", "next-link", "oldest-first"])
async def test_unfinished_scan_resumes_where_it_stopped(profile: str) -> None:
    """A scan cut short by its page budget stays ambiguous and resumes at the next page."""
    async with hub(profile) as transport:
        sink = _sink(transport)
        sink.readback.page_budget = 2
        await _post_others(sink, EARLIER)
        delivery = _delivery(time.time() - 1)
        gets = transport.counts["GET"]
        attempts = [await sink.send(delivery)]
        while attempts[-1].kind == "transient":
            assert attempts[-1].ambiguous
            assert len(attempts) < 10, "the scan never finishes"
            attempts.append(await sink.send(delivery))
        assert attempts[-1].kind == "delivered"
        pages = -(-EARLIER // 20)  # pages of 20 at most
        reads = transport.counts["GET"] - gets - 1  # the one hinted request aside
        assert reads <= pages + 1  # each page read once (+ an end probe)
        assert len(attempts) > 1
        assert len(attempts) == -(-reads // 2)  # every attempt read its budget: no re-reads


@pytest.mark.parametrize("profile", ["minimal", "cursor", "oldest-first"])
async def test_failed_pages_leave_it_ambiguous_and_never_post_early(profile: str) -> None:
    """With reads failing too, no attempt posts before a scan has finished; one copy lands."""
    faults = FaultConfig(
        seed=3, error_rates={503: 0.3}, targets=("GET /api/v2/interaction-events",)
    )
    async with hub(profile, faults) as transport:
        sink = _sink(transport)
        await _post_others(sink, 60)
        delivery = _delivery(time.time() - 1)
        for _ in range(40):
            attempt = await sink.send(delivery)
            if attempt.kind != "transient":
                break
            assert attempt.ambiguous
            assert transport.counts["POST"] == 60  # nothing posted while the question is open
        assert attempt.kind == "delivered"
        assert await _stored(transport) == 61


async def test_a_finished_scan_answers_later_read_backs_it_covers() -> None:
    """A scan that began after a delivery's last attempt ended, and reached back past its
    first attempt, answers that delivery's read-back without another request."""
    async with hub("minimal") as transport:
        sink = _sink(transport)
        before = time.time() - 1
        await _post_others(sink, 30)
        waiting = [_delivery(before) for _ in range(3)]
        assert (await sink.send(waiting[0])).kind == "delivered"  # scanned, absent, posted
        gets = transport.counts["GET"]
        assert [(await sink.send(d)).kind for d in waiting[1:]] == ["delivered", "delivered"]
        assert transport.counts["GET"] == gets  # answered by the first one's scan
        # A delivery whose last attempt ended after that scan began needs a scan of its own.
        late = dataclasses.replace(_delivery(before), updated_at=time.time() + 1)
        assert (await sink.send(late)).kind == "delivered"
        assert transport.counts["GET"] > gets


async def test_concurrent_read_backs_of_one_list_share_one_scan() -> None:
    """Eight read-backs at once (as after a restart) wait for one scan instead of making
    eight; each then posts its own event once."""
    async with hub("minimal") as transport:
        sink = _sink(transport)
        await _post_others(sink, 150)
        alone = transport.counts["GET"]
        await sink.send(_delivery(time.time() - 600))  # one scan of the whole list, alone
        one_scan = transport.counts["GET"] - alone
        sink = _sink(transport)  # a new process: nothing remembered
        waiting = [_delivery(time.time() - 600) for _ in range(8)]
        gets = transport.counts["GET"]
        kinds: list[str] = []

        async def send(delivery: Delivery) -> None:
            kinds.append((await sink.send(delivery)).kind)

        async with anyio.create_task_group() as tg:
            for delivery in waiting:
                tg.start_soon(send, delivery)
        assert kinds == ["delivered"] * 8
        assert transport.counts["GET"] - gets == one_scan
        assert await _stored(transport) == 150 + 1 + 8


async def test_a_delivery_proven_absent_looks_back_only_to_that_proof(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a scan proved it absent (and it was posted again), a delivery's next read-back
    stops at events older than that scan: not at its first attempt, far back."""
    shift = [3600.0]  # the hub stamps the first events an hour back

    def stamp() -> str:
        when = datetime.now(UTC) - timedelta(seconds=shift[0])
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    monkeypatch.setattr("ops_evidence.emulator.inter_hub.utc_now", stamp)
    async with hub("minimal") as transport:
        sink = _sink(transport)
        delivery = _delivery(time.time() - 7200)  # first attempted before all of them
        await _post_others(sink, 400)
        gets = transport.counts["GET"]
        assert await sink.readback.check(delivery) is None  # absent, after a whole scan
        whole = transport.counts["GET"] - gets
        shift[0] = 0.0
        await _post_others(sink, 150)  # its post (refused, say) came after that scan
        sink.readback.scans.clear()  # no shared answer: this read-back must scan
        gets = transport.counts["GET"]
        again = dataclasses.replace(delivery, updated_at=time.time())
        assert await sink.readback.check(again) is None
        assert transport.counts["GET"] - gets < whole  # 150 events back, not 550

"""Inter-Hub sink with scripted faults: every outcome class, read-back, key transport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.inter_hub import InterHubSink
from ops_evidence.delivery.sinks.inter_hub_client import InterHubClient
from ops_evidence.errors import ConfigError

pytestmark = pytest.mark.anyio
KEY = "canary-inter-hub-key-0042"
URL = "https://hub.example.test"


def _delivery(ambiguous: bool = False) -> Delivery:
    body = json.dumps(
        {
            "widgetId": "w1",
            "eventType": "ops-endpoint-verified",
            "metadata": {"idempotencyKey": "k1"},
        }
    ).encode()
    return Delivery(
        "k1",
        "inter-hub",
        "pending",
        0,
        0.0,
        body,
        "w1",
        "ops-endpoint-verified",
        "endpoint:e",
        0.0,
        0.0,
        ambiguous=ambiguous,
    )


def _sink(handler: Callable[[httpx.Request], httpx.Response]) -> InterHubSink:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return InterHubSink(InterHubClient(client, URL, SecretStr(KEY)))


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind", "retry_after"),
    [
        (201, {}, "{}", "delivered", None),
        (409, {}, "{}", "duplicate", None),
        (503, {"Retry-After": "7"}, "busy", "transient", 7.0),
        (500, {}, "oops", "transient", None),
        (408, {}, "", "transient", None),
        (429, {"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"}, "", "transient", "date"),
        (401, {}, '{"error": "unauthorized"}', "auth", None),
        (403, {}, '{"error": "forbidden"}', "auth", None),
        (422, {}, '{"error": "event type ops-x is not declared by the active manifest"}', "undeclared", None),
        (400, {}, '{"error": "widgetId is required"}', "rejected", None),
        (404, {}, '{"error": "unknown widget"}', "rejected", None),
    ],
)  # fmt: skip
async def test_status_classification(
    status: int, headers: dict[str, str], body: str, kind: str, retry_after: object
) -> None:
    """Each status maps to its outcome class; Retry-After is parsed in both forms."""
    sink = _sink(lambda _: httpx.Response(status, headers=headers, text=body))
    attempt = await sink.send(_delivery())
    assert attempt.kind == kind
    assert attempt.http_status == status
    if retry_after == "date":
        assert attempt.retry_after is not None
        assert attempt.retry_after > 3600
    else:
        assert attempt.retry_after == retry_after


@pytest.mark.parametrize(
    ("status", "ambiguous"),
    [
        (500, True),
        (502, True),
        (504, True),
        (520, True),
        (501, False),
        (503, False),
        (505, False),
        (429, False),
        (408, False),
    ],
)
async def test_which_failures_may_have_landed(status: int, ambiguous: bool) -> None:
    """500, 502, 504 (and unknown 5xx) may follow a commit: ambiguous; 503/429/408 and 501/505
    say the request was not carried out."""
    attempt = await _sink(lambda _: httpx.Response(status)).send(_delivery())
    assert (attempt.kind, attempt.ambiguous) == ("transient", ambiguous)


async def test_auth_failure_during_read_back_stays_ambiguous() -> None:
    """A 401 while reading back is an auth failure that leaves the question open (no POST)."""
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        return httpx.Response(401)

    attempt = await _sink(handler).send(_delivery(ambiguous=True))
    assert (attempt.kind, attempt.ambiguous, methods) == ("auth", True, ["GET"])


async def test_next_link_to_another_origin_is_not_followed() -> None:
    """The key goes with every read: a next link to another host is refused, still ambiguous."""
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        item = {"id": "1", "metadata": {"idempotencyKey": "other"}}
        return httpx.Response(200, json={"data": [item], "next": "https://evil.test/x"})

    attempt = await _sink(handler).send(_delivery(ambiguous=True))
    assert (attempt.kind, attempt.ambiguous) == ("transient", True)
    assert set(hosts) == {"hub.example.test"}  # the hinted request and page 1, never evil


async def test_a_refused_key_hint_is_dropped_and_the_scan_goes_on() -> None:
    """A hub that answers 400 to the unknown idempotencyKey parameter is asked without it."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(201, json={})
        if "idempotencyKey" in request.url.params:
            return httpx.Response(400, json={"error": "unknown parameter idempotencyKey"})
        return httpx.Response(200, json={"data": [], "pagination": {"page": 1, "limit": 20}})

    sink = _sink(handler)
    assert (await sink.send(_delivery(ambiguous=True))).kind == "delivered"
    assert [r.method for r in seen] == ["GET", "GET", "POST"]
    assert ["idempotencyKey" in r.url.params for r in seen[:2]] == [True, False]
    assert sink.readback.hint is False


async def test_request_carries_key_idempotency_and_exact_body() -> None:
    """The POST has the bearer key, the Idempotency-Key header and the stored bytes."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={})

    delivery = _delivery()
    await _sink(handler).send(delivery)
    [request] = seen
    assert request.url == f"{URL}/api/v2/interaction-events"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Idempotency-Key"] == "k1"
    assert request.content == delivery.body


async def test_post_keeps_the_clients_headers_and_timeout() -> None:
    """The post (built by the sink, not by the client) still carries the client's default
    headers, such as its User-Agent, and the client's timeouts."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={})

    client = httpx.AsyncClient(
        transport=httpx.MockTransport(handler),
        headers={"User-Agent": "ops-evidence/test"},
        timeout=httpx.Timeout(3.0, connect=1.0),
    )
    await InterHubSink(InterHubClient(client, URL, SecretStr(KEY))).send(_delivery())
    [request] = seen
    assert request.headers["User-Agent"] == "ops-evidence/test"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.extensions["timeout"] == {"connect": 1.0, "read": 3.0, "write": 3.0, "pool": 3.0}


@pytest.mark.parametrize(
    ("exc", "ambiguous"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow"), False),
        (httpx.ReadTimeout("no answer"), True),
        (httpx.RemoteProtocolError("reset"), True),
        (httpx.ReadError("reset"), True),
    ],
)
async def test_transport_errors_are_transient(exc: httpx.HTTPError, ambiguous: bool) -> None:
    """Transport errors retry; only those after the request may have left are ambiguous."""

    def handler(_: httpx.Request) -> httpx.Response:
        raise exc

    attempt = await _sink(handler).send(_delivery())
    assert (attempt.kind, attempt.ambiguous) == ("transient", ambiguous)


async def test_read_back_finds_landed_event() -> None:
    """After ambiguity, a stored event with the same key means duplicate, and no POST."""
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        assert request.url.params["widgetId"] == "w1"
        assert request.url.params["eventType"] == "ops-endpoint-verified"
        return httpx.Response(200, json={"data": [{"metadata": {"idempotencyKey": "k1"}}]})

    attempt = await _sink(handler).send(_delivery(ambiguous=True))
    assert attempt.kind == "duplicate"
    assert methods == ["GET"]


async def test_read_back_absent_then_posts() -> None:
    """After ambiguity with nothing stored, the sink posts the event."""
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        if request.method == "GET":
            page = int(request.url.params.get("page", "1"))
            items = [{"metadata": {"idempotencyKey": "other"}}] if page == 1 else []
            return httpx.Response(200, json={"data": items})
        return httpx.Response(201, json={})

    assert (await _sink(handler).send(_delivery(ambiguous=True))).kind == "delivered"
    # The hinted request, then the list by page number until a page is empty.
    assert methods == ["GET", "GET", "GET", "POST"]


async def test_a_repeated_page_is_no_proof_of_absence() -> None:
    """A hub that answers every page alike (it ignores the page asked for) leaves the
    delivery ambiguous: nothing is posted."""
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        return httpx.Response(200, json=[{"metadata": {"idempotencyKey": "other"}}])

    attempt = await _sink(handler).send(_delivery(ambiguous=True))
    assert (attempt.kind, attempt.ambiguous, methods) == ("transient", True, ["GET"] * 3)


async def test_an_empty_answer_to_the_key_hint_is_read_again_without_it() -> None:
    """A hub that answers the hint with nothing (a filter on a field it lacks) is asked
    again without it, and the stored event is found there."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "idempotencyKey" in request.url.params:
            return httpx.Response(200, json={"data": [], "pagination": {"page": 1}})
        return httpx.Response(200, json={"data": [{"metadata": {"idempotencyKey": "k1"}}]})

    attempt = await _sink(handler).send(_delivery(ambiguous=True))
    assert attempt.kind == "duplicate"
    assert ["idempotencyKey" in r.url.params for r in seen] == [True, False]


async def test_read_back_failure_stays_ambiguous() -> None:
    """A failed read-back retries later and keeps the delivery ambiguous."""
    sink = _sink(lambda _: httpx.Response(429, headers={"Retry-After": "3"}))
    attempt = await sink.send(_delivery(ambiguous=True))
    assert (attempt.kind, attempt.ambiguous, attempt.retry_after) == ("transient", True, 3.0)


def test_refuses_key_over_plain_http_to_remote_host() -> None:
    """http:// to a non-loopback host is refused unless explicitly allowed; loopback is fine."""
    client = httpx.AsyncClient()
    with pytest.raises(ConfigError, match="refusing to send OPS_HUB_KEY over plain http"):
        InterHubSink(InterHubClient(client, "http://hub.example.test", SecretStr(KEY)))
    InterHubSink(
        InterHubClient(client, "http://hub.example.test", SecretStr(KEY), allow_insecure_http=True)
    )
    InterHubSink(InterHubClient(client, "http://127.0.0.1:8080", SecretStr(KEY)))
    InterHubSink(InterHubClient(client, "http://[::1]:8080", SecretStr(KEY)))


async def test_errors_never_contain_the_key() -> None:
    """A server echoing the key in its error body does not leak it into the attempt."""
    sink = _sink(lambda r: httpx.Response(400, text=f"bad key {r.headers['Authorization']}"))
    from ops_evidence.redact import register_secret

    register_secret(KEY)
    attempt = await sink.send(_delivery())
    assert KEY not in (attempt.error or "")

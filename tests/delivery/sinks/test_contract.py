"""Contract suite for the sinks (Inter-Hub, State Hub, stdout), through the `Sink` protocol
only (`send(delivery) -> Attempt`): each never raises, whatever its downstream does; the HTTP
sinks report transport errors as transient and an answer that may have landed as ambiguous;
Inter-Hub, the sink that reads back, keeps an ambiguous delivery ambiguous until it can tell.

Downstreams are real: the project's emulator served on loopback (faults from its own fault
config), real pipes and /dev/full for stdout. Only what a real server will not do on demand
(cut a response short, answer something that is not HTTP, never answer) is scripted, by the
raw server of tests/raw_http.py. Every sink is built in `built` alone, so a constructor
change is one edit here.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
    nullcontext,
    suppress,
)
from pathlib import Path
from typing import Any, TextIO, get_args

import httpx
import pytest
from pydantic import SecretStr

from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.base import Attempt, AttemptKind, Sink
from ops_evidence.delivery.sinks.http import make_client
from ops_evidence.delivery.sinks.inter_hub import InterHubSink
from ops_evidence.delivery.sinks.inter_hub_client import InterHubClient
from ops_evidence.delivery.sinks.state_hub import StateHubSink
from ops_evidence.delivery.sinks.stdout import StdoutSink
from ops_evidence.emulator import create_app
from ops_evidence.emulator.config import FaultConfig
from ops_evidence.events.wire import canonical_json, interaction_event_body, progress_body
from tests.delivery_support import KEY, WIDGET, emulator_config
from tests.factories import endpoint_event
from tests.raw_http import raw_server
from tests.real_servers import free_port
from tests.servers import serve_asgi

pytestmark = pytest.mark.anyio
HTTP_SINKS = ("inter-hub", "state-hub")
TIMEOUT = 0.5  # short: the timeout cases wait for it


@asynccontextmanager
async def built(name: str, target: str | TextIO) -> AsyncIterator[Sink]:
    """The sink `name` as the service builds it, sending to `target` (an HTTP sink's base
    URL, or stdout's stream). The one place the suite constructs sinks."""
    if name == "stdout":
        assert not isinstance(target, str)
        yield StdoutSink(target)
        return
    assert isinstance(target, str)
    async with make_client(TIMEOUT) as client:
        if name == "inter-hub":
            yield InterHubSink(InterHubClient(client, target, SecretStr(KEY)))
        else:
            yield StateHubSink(client, target)


def delivery_for(name: str, *, ambiguous: bool = False) -> Delivery:
    """A routable delivery for sink `name`, with the body the router would store for it."""
    event = endpoint_event()
    if name == "inter-hub":
        body = canonical_json(interaction_event_body(event, WIDGET))
    elif name == "state-hub":
        body = canonical_json(progress_body(event, status="missing_widget_mapping"))
    else:
        body = canonical_json(event.model_dump(mode="json"))
    return Delivery(
        event.idempotency_key,
        name,
        "pending",
        1 if ambiguous else 0,
        0.0,
        body,
        WIDGET if name == "inter-hub" else None,
        event.event_type,
        event.context_key,
        0.0,
        0.0,
        ambiguous=ambiguous,
        first_attempt_at=0.0 if ambiguous else None,
    )


def stored(name: str, base_url: str) -> int:
    """How many records the emulator holds for sink `name`."""
    counts = httpx.get(f"{base_url}/_emulator/counts").json()
    return int(counts["interaction_events" if name == "inter-hub" else "progress"])


# How an HTTP downstream can fail, each with the outcome a sink must report: a context that
# yields the base URL, and whether the request may have landed (ambiguous).
def _emulator(**faults: Any) -> Callable[[], AbstractContextManager[str]]:
    return lambda: serve_asgi(create_app(emulator_config(FaultConfig(**faults))))


@contextmanager
def _raw(answer: bytes | None) -> Iterator[str]:
    with raw_server(answer, close_after=True) as server:
        yield server.url


HTTP_FAILURES: dict[str, tuple[Callable[[], AbstractContextManager[str]], bool]] = {
    "nothing listening": (lambda: nullcontext(f"http://127.0.0.1:{free_port()}"), False),
    "503 not carried out": (_emulator(error_rates={503: 1.0}), False),
    "429 burst": (_emulator(burst_429={"rate": 1.0, "length": 3}), False),
    "500 maybe committed": (_emulator(error_rates={500: 1.0}), True),
    "reset before commit": (_emulator(reset_before_commit=1.0), True),
    "reset after commit": (_emulator(reset_after_commit=1.0), True),
    "answer slower than the timeout": (_emulator(latency_ms=TIMEOUT * 3000), True),
    "cut mid-response": (lambda: _raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok"), True),
    "not HTTP": (lambda: _raw(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"), True),
    "never answers": (lambda: _raw(None), True),
}


@contextmanager
def _dead_pipe() -> Iterator[TextIO]:
    """The write end of a real pipe whose reader has gone (`| head` exited)."""
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    stream = os.fdopen(write_fd, "w")
    try:
        yield stream
    finally:
        with suppress(BrokenPipeError):  # closing flushes what the dead pipe refused
            stream.close()


@contextmanager
def _closed_stream() -> Iterator[TextIO]:
    stream = io.StringIO()
    stream.close()
    yield stream


@contextmanager
def _full_device() -> Iterator[TextIO]:
    """/dev/full: every write fails with ENOSPC, as stdout redirected to a full disk does."""
    stream = Path("/dev/full").open("w")  # noqa: SIM115 - closed below, past the failure
    try:
        yield stream
    finally:
        with suppress(OSError):  # closing flushes what the device refused
            stream.close()


STDOUT_FAILURES: dict[str, Callable[[], AbstractContextManager[TextIO]]] = {
    "reader gone": _dead_pipe,
    "stream closed": _closed_stream,
    "disk full": _full_device,
}
FAILURES = [(name, world) for name in HTTP_SINKS for world in HTTP_FAILURES] + [
    ("stdout", world) for world in STDOUT_FAILURES
]


@contextmanager
def downstream(name: str, world: str | None = None) -> Iterator[str | TextIO]:
    """Sink `name`'s downstream, healthy (`world` None) or failing as `world` says."""
    if name == "stdout":
        with STDOUT_FAILURES[world]() if world else nullcontext(io.StringIO()) as stream:
            yield stream
    else:
        with HTTP_FAILURES[world][0]() if world else _emulator()() as url:
            yield url


@pytest.mark.parametrize("name", [*HTTP_SINKS, "stdout"])
async def test_a_healthy_downstream_takes_the_delivery_once(name: str) -> None:
    """Sent to a working downstream, a delivery is `delivered` and arrives exactly once."""
    delivery = delivery_for(name)
    with downstream(name) as target:
        async with built(name, target) as sink:
            attempt = await sink.send(delivery)
        if isinstance(target, str):
            assert stored(name, target) == 1
        else:
            assert isinstance(target, io.StringIO)
            assert target.getvalue() == (delivery.body or b"").decode() + "\n"
    assert (attempt.kind, attempt.ambiguous) == ("delivered", False)


@pytest.mark.parametrize(("name", "world"), FAILURES)
async def test_a_failing_downstream_is_an_attempt_never_an_exception(name: str, world: str) -> None:
    """Whatever the downstream does, `send` returns an Attempt of a known kind that says
    what went wrong (an error text), and nothing counts as delivered."""
    with downstream(name, world) as target:
        async with built(name, target) as sink:
            attempt = await sink.send(delivery_for(name))
    assert isinstance(attempt, Attempt)
    assert attempt.kind in get_args(AttemptKind)
    assert attempt.kind not in ("delivered", "duplicate")
    assert attempt.error


@pytest.mark.parametrize(("name", "world"), [f for f in FAILURES if f[0] in HTTP_SINKS])
async def test_transport_errors_are_transient_and_ambiguous_when_they_may_have_landed(
    name: str, world: str
) -> None:
    """Over HTTP, a refused connection, an overloaded or failing server, a reset, a timeout,
    a cut or garbled answer are all `transient` (retried later), and `ambiguous` exactly when
    the request may have been carried out without its answer reaching us."""
    with downstream(name, world) as target:
        async with built(name, target) as sink:
            attempt = await sink.send(delivery_for(name))
    may_have_landed = HTTP_FAILURES[world][1]
    assert (attempt.kind, attempt.ambiguous) == ("transient", may_have_landed)


async def test_an_ambiguous_delivery_stays_ambiguous_while_the_read_back_cannot_tell() -> None:
    """Inter-Hub (the sink that reads back): an ambiguous delivery whose read-back fails
    (the list answers 503) is not posted again and stays ambiguous, so the next attempt
    reads back again instead of risking a second copy."""
    faults = FaultConfig(error_rates={503: 1.0}, targets=("GET /api/v2/interaction-events",))
    with serve_asgi(create_app(emulator_config(faults))) as url:
        async with built("inter-hub", url) as sink:
            attempt = await sink.send(delivery_for("inter-hub", ambiguous=True))
        assert stored("inter-hub", url) == 0
    assert (attempt.kind, attempt.ambiguous) == ("transient", True)


async def test_an_ambiguous_delivery_that_landed_is_a_duplicate_not_a_second_copy() -> None:
    """Inter-Hub: a post that was committed but whose answer was lost (reset after commit)
    is ambiguous; sent again as such, the read-back finds it: `duplicate`, one copy."""
    faults = FaultConfig(reset_after_commit=1.0)
    with serve_asgi(create_app(emulator_config(faults))) as url:
        async with built("inter-hub", url) as sink:
            delivery = delivery_for("inter-hub")
            first = await sink.send(delivery)
            second = await sink.send(
                dataclasses.replace(delivery, attempts=1, ambiguous=True, first_attempt_at=0.0)
            )
        assert stored("inter-hub", url) == 1
    assert (first.kind, first.ambiguous) == ("transient", True)
    assert second.kind == "duplicate"

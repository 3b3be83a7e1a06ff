"""State Hub and stdout sinks with scripted answers, and stdout on a dead pipe and a full disk."""

from __future__ import annotations

import io
import os
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.state_hub import StateHubSink
from ops_evidence.delivery.sinks.stdout import StdoutSink

pytestmark = pytest.mark.anyio


def _delivery(sink: str) -> Delivery:
    return Delivery(
        "k1",
        sink,
        "pending",
        0,
        0.0,
        b'{"event_type":"ops_inventory_probe"}',
        None,
        "ops-endpoint-verified",
        "endpoint:e",
        0.0,
        0.0,
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (201, "delivered"),
        (200, "delivered"),
        (503, "transient"),
        (401, "rejected"),
        (422, "rejected"),
    ],
)
async def test_state_hub_classification(status: int, kind: str) -> None:
    """2xx delivers; 5xx retries; any 4xx is a permanent rejection (no key, no manifest)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={})

    sink = StateHubSink(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)), "http://sh.test/"
    )
    assert (await sink.send(_delivery("state-hub"))).kind == kind
    assert str(seen[0].url) == "http://sh.test/progress/"
    assert seen[0].content == b'{"event_type":"ops_inventory_probe"}'


async def test_stdout_writes_one_line() -> None:
    """The stdout sink prints the stored JSON as one line."""
    stream = io.StringIO()
    assert (await StdoutSink(stream).send(_delivery("stdout"))).kind == "delivered"
    assert stream.getvalue() == '{"event_type":"ops_inventory_probe"}\n'


async def test_stdout_whose_reader_went_away_rejects_and_a_full_disk_is_transient() -> None:
    """A pipe with no reader (`| head` exited) never comes back: `rejected`. A write that
    fails on a full disk (stdout redirected to /dev/full) may fit later: `transient`."""
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    dead, full = os.fdopen(write_fd, "w"), Path("/dev/full").open("w")  # noqa: SIM115, ASYNC230 - a device: opens at once; closed below
    try:
        gone = await StdoutSink(dead).send(_delivery("stdout"))
        no_room = await StdoutSink(full).send(_delivery("stdout"))
    finally:
        for stream in (dead, full):
            with suppress(OSError):  # closing flushes again what they refused
                stream.close()
    assert (gone.kind, gone.error) == ("rejected", "stdout: BrokenPipeError")
    assert no_room.kind == "transient"
    assert "No space left on device" in (no_room.error or "")

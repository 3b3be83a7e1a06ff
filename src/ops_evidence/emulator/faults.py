"""Deterministic fault injection, applied around the ASGI app before any route runs.

One `random.Random(seed)` draws for every eligible request in arrival order, so the same
seed and the same request sequence give the same faults. Kinds:

- an injected status (500/502/503): answered without touching the store;
- a 429 burst: this and the next `length - 1` eligible requests get 429 with Retry-After;
- reset before commit: the connection is dropped and nothing is stored;
- reset after commit: the request is handled and stored, then the connection is dropped
  without an answer (the ambiguous case the sinks' read-back exists for).

Over a real server the reset aborts the TCP connection (RST); in-process, where there is
no connection, the app raises `EmulatedConnectionReset`, an `httpx.ReadError`, which
`httpx.ASGITransport` hands to the client like a transport failure.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ops_evidence.emulator.config import FaultConfig

FaultKind = Literal["none", "status", "burst_429", "reset_before_commit", "reset_after_commit"]


class EmulatedConnectionReset(httpx.ReadError):
    """In-process stand-in for a connection reset by the emulator."""


@dataclass(frozen=True)
class Decision:
    """What the fault plan does to one request."""

    kind: FaultKind
    status: int | None = None
    latency: float = 0.0
    retry_after: int | None = None


class FaultPlan:
    """The seeded fault schedule and counters of what it injected."""

    def __init__(self, config: FaultConfig) -> None:
        if config.total_rate() > 1.0:
            raise ValueError("fault rates add up to more than 1")
        self.config = config
        self._rng = random.Random(config.seed)  # noqa: S311 - reproducible schedule, not crypto
        self._burst_left = 0
        self.counts: Counter[str] = Counter()

    def eligible(self, method: str, path: str) -> bool:
        """Whether `METHOD path` is one of the configured fault targets."""
        return f"{method} {path}" in self.config.targets

    def decide(self) -> Decision:
        """Draw the fault for the next eligible request."""
        cfg = self.config
        latency = cfg.latency_ms / 1000
        if cfg.latency_jitter_ms:
            latency += self._rng.uniform(0, cfg.latency_jitter_ms) / 1000
        decision = self._draw(latency)
        self.counts[str(decision.status) if decision.status else decision.kind] += 1
        return decision

    def _draw(self, latency: float) -> Decision:
        cfg = self.config
        if self._burst_left > 0:
            self._burst_left -= 1
            return Decision("burst_429", 429, latency, cfg.burst_429.retry_after)
        roll = self._rng.random()
        for status in sorted(cfg.error_rates):
            roll -= cfg.error_rates[status]
            if roll < 0:
                return Decision("status", status, latency)
        roll -= cfg.burst_429.rate
        if roll < 0:
            self._burst_left = cfg.burst_429.length - 1
            return Decision("burst_429", 429, latency, cfg.burst_429.retry_after)
        roll -= cfg.reset_before_commit
        if roll < 0:
            return Decision("reset_before_commit", None, latency)
        roll -= cfg.reset_after_commit
        if roll < 0:
            return Decision("reset_after_commit", None, latency)
        return Decision("none", None, latency)


async def apply_fault(
    decision: Decision,
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    raw_send: Send | None = None,
) -> None:
    """Run `app` for this request with `decision` applied.

    `raw_send` is the server's own `send`, which a reset needs to reach the connection.
    """
    if decision.latency:
        await asyncio.sleep(decision.latency)
    if decision.kind == "none":
        await app(scope, receive, send)
    elif decision.kind == "reset_after_commit":

        async def swallow(_: Message) -> None:
            return None

        await app(scope, receive, swallow)
        await reset_connection(raw_send or send)
    elif decision.kind == "reset_before_commit":
        await reset_connection(raw_send or send)
    else:
        await _send_error(send, decision)


async def _send_error(send: Send, decision: Decision) -> None:
    status = decision.status or 500
    body = json.dumps(
        {"error": "injected_fault", "message": f"{status} injected by the emulator fault plan"}
    ).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if decision.retry_after is not None:
        headers.append((b"retry-after", str(decision.retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _server_transport(send: Send) -> Any:
    # uvicorn's `send` is a bound method of its request cycle, which holds the transport.
    # This reaches into uvicorn deliberately: ASGI has no way to say "drop the connection".
    return getattr(getattr(send, "__self__", None), "transport", None)


async def reset_connection(send: Send) -> None:
    """Drop the connection without an answer (RST over TCP; an exception in-process)."""
    transport = _server_transport(send)
    if transport is None:
        raise EmulatedConnectionReset("connection reset by the emulator (fault injection)")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger 0 turns close into an RST, which the client reads as "connection reset".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # abort() schedules connection_lost; let it run so uvicorn marks the cycle disconnected
    # and does not try to answer 500 on a dead connection.
    for _ in range(2):
        await asyncio.sleep(0)

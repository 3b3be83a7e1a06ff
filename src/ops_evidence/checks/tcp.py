"""TCP: connect, optionally read the first line and match it against a banner pattern."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import anyio

from ops_evidence.checks.base import Failure, elapsed_ms
from ops_evidence.checks.errors import failure_from
from ops_evidence.redact import redact_text

_BANNER_BYTES = 256


@dataclass(frozen=True, slots=True)
class TcpResult:
    """Outcome of a connect (and banner read)."""

    target: str
    banner: str | None = None
    latency_ms: float | None = None
    failure: Failure | None = None


async def _first_line(stream: anyio.abc.ByteStream) -> str:
    data = b""
    while b"\n" not in data and len(data) < _BANNER_BYTES:
        try:
            data += await stream.receive(_BANNER_BYTES - len(data))
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            break
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    return line.decode("utf-8", errors="replace")


async def check_tcp(host: str, port: int, *, banner: str | None, timeout: float) -> TcpResult:
    """Connect to host:port; when `banner` is set, the first line must match it. Never raises."""
    where = f"{host}:{port}"
    started = time.perf_counter()
    observed: str | None = None
    try:
        with anyio.fail_after(timeout):
            async with await anyio.connect_tcp(host, port) as stream:
                if banner is not None:
                    observed = redact_text(await _first_line(stream), limit=200)
    except TimeoutError:
        reason = "banner_timeout" if banner is not None and observed is None else "timeout"
        return TcpResult(where, failure=Failure.of(reason, f"{where}: no answer in {timeout}s"))
    except (OSError, anyio.BrokenResourceError) as exc:
        return TcpResult(where, failure=failure_from(exc, where))
    latency = elapsed_ms(started)
    if banner is not None and not re.search(banner, observed or ""):
        message = f"{where}: banner {observed!r} does not match /{banner}/"
        return TcpResult(where, observed, latency, Failure.of("banner_mismatch", message))
    return TcpResult(where, observed, latency)

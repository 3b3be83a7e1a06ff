"""`create_app`: one Starlette app serving the emulated Inter-Hub, State Hub and admin routes.

Faults and request logging wrap the app in `EmulatorApp.__call__`, outside Starlette's
middleware, because a connection reset needs the server's own `send` (see `faults`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from ops_evidence.emulator import admin, inter_hub, state_hub
from ops_evidence.emulator.config import EmulatorConfig, resolve_keys
from ops_evidence.emulator.context import Emulator
from ops_evidence.emulator.faults import apply_fault
from ops_evidence.logging import get_logger


class EmulatorApp(Starlette):
    """Starlette plus the fault plan and an optional structured line per request."""

    def __init__(self, emulator: Emulator, *, log_requests: bool = False) -> None:
        super().__init__(routes=[*inter_hub.routes, *state_hub.routes, *admin.routes])
        self.state.emulator = emulator
        self.emulator = emulator
        self._log = get_logger(component="emulator") if log_requests else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count, fault-inject and log HTTP requests; pass anything else straight through."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        emulator = self.emulator
        emulator.requests += 1
        if not scope["path"].startswith("/_emulator/"):
            emulator.routes[f"{scope['method']} {scope['path']}"] += 1
        plan = emulator.faults
        decision = plan.decide() if plan.eligible(scope["method"], scope["path"]) else None
        status: list[int] = []

        async def tap(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        started = time.perf_counter()
        try:
            if decision is None:
                await super().__call__(scope, receive, tap)
            else:
                await apply_fault(decision, super().__call__, scope, receive, tap, raw_send=send)
        finally:
            self._log_request(scope, status, started, decision.kind if decision else "none")

    def _log_request(self, scope: Scope, status: list[int], started: float, fault: str) -> None:
        if self._log is None:
            return
        # Method, path and outcome only: never headers (the key) nor the query or body.
        self._log.info(
            "emulator_request",
            method=scope["method"],
            path=scope["path"],
            status=status[0] if status else None,
            fault=fault,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )


def create_app(
    config: EmulatorConfig | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    log_requests: bool = False,
) -> Starlette:
    """The emulator app; consumers without a key get a random one (see `resolve_keys`)."""
    resolved, _ = resolve_keys(config or EmulatorConfig())
    return EmulatorApp(Emulator(resolved, clock), log_requests=log_requests)


def emulator_state(app: Any) -> Emulator:
    """The live Emulator behind an app made by `create_app` (for tests and the CLI)."""
    if not isinstance(app, EmulatorApp):
        raise TypeError("not an emulator app")
    return app.emulator

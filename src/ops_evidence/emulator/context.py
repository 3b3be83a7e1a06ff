"""The emulator's live state, shared by every route: config, store, faults, auth, limits."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from ops_evidence.emulator.access import Authenticator, ReadLimiter
from ops_evidence.emulator.config import EmulatorConfig, FaultConfig, SeedWidget
from ops_evidence.emulator.faults import FaultPlan
from ops_evidence.emulator.store import Record, Store


def utc_now() -> str:
    """The current UTC time as ISO 8601 with milliseconds and `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    """A fresh record id (UUID4)."""
    return str(uuid.uuid4())


def widget_record(fields: dict[str, Any]) -> tuple[Record, Record]:
    """A widget document (version 1) and its initial version snapshot."""
    now = utc_now()
    widget: Record = {**fields, "version": 1, "createdAt": now, "updatedAt": now}
    version: Record = {"widgetId": widget["id"], "version": 1, "snapshot": widget, "createdAt": now}
    return widget, version


class Emulator:
    """Everything a request handler needs, reachable as `request.app.state.emulator`."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.store = Store(config.storage)
        self.auth = Authenticator(config)
        self.limiter = ReadLimiter(config.read_rate_limit, clock)
        self.faults = FaultPlan(config.faults)
        self.requests = 0
        # Requests per `METHOD /path` of the two APIs (the inspection routes left out).
        self.routes: Counter[str] = Counter()
        self.seed_widgets()

    def seed_widgets(self) -> None:
        """Create the configured seed widgets that do not exist yet (survives restarts)."""
        for seed in self.config.seed_widgets:
            if self.store.get_widget(seed.id) is None:
                self.store.add_widget(*widget_record(_seed_fields(self.config.hub_id, seed)))

    def set_faults(self, config: FaultConfig) -> None:
        """Replace the fault plan; the schedule restarts from the new seed."""
        self.faults = FaultPlan(config)

    def reset(self) -> None:
        """Forget everything received; seed widgets, fault schedule and limits start over."""
        self.store.clear()
        self.seed_widgets()
        self.faults = FaultPlan(self.faults.config)
        self.limiter.reset()
        self.requests = 0
        self.routes.clear()


def _seed_fields(hub_id: str, seed: SeedWidget) -> dict[str, Any]:
    return {
        "id": seed.id,
        "hubId": hub_id,
        "name": seed.name,
        "widgetType": seed.widget_type,
        "policyScope": seed.policy_scope,
        "status": seed.status,
        "capabilityRef": None,
        "viewContext": seed.view_context,
        "adapterSpecId": None,
    }


def emulator_of(request: Request) -> Emulator:
    """The Emulator behind the app serving `request`."""
    emulator = request.app.state.emulator
    assert isinstance(emulator, Emulator)
    return emulator

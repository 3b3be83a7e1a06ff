"""Small inventories for probe tests, validated exactly as a loaded file would be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.inventory.models import Inventory
from ops_evidence.probes import ProbeContext, find_target, run_probe


def inventory(**sections: list[dict[str, Any]]) -> Inventory:
    """An inventory with environment `local` plus the given sections."""
    data: dict[str, Any] = {"version": 1, "environments": [{"id": "local", "role": "test"}]}
    data["services"] = [{"id": "web", "environment": "local"}]
    for name, items in sections.items():
        data[name] = data.get(name, []) + items if name == "services" else items
    return Inventory.model_validate(data)


async def probe(
    inv: Inventory, key: str, *, ctx: ProbeContext | None = None, later: timedelta | None = None
) -> EvidenceEvent:
    """Run the probe of `key` (optionally with the clock moved `later`) and return its event."""
    target = find_target(inv, key)
    assert target is not None, key
    if ctx is None:
        ctx = ProbeContext(inv)
    if later is not None:
        ctx.now = lambda: datetime.now(UTC) + later
    return await run_probe(ctx, target)

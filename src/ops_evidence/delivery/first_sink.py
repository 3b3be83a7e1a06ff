"""Pure routing decisions: which sink an event goes to first, and why.

The delivery router (`router.py`) acts on these decisions; `validate` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ops_evidence.config.settings import Settings

SinkId = Literal["inter-hub", "state-hub", "stdout"]


@dataclass(frozen=True, slots=True)
class Route:
    """Where an event goes first. `status` explains a fallback (None when Inter-Hub)."""

    sink: SinkId
    widget_id: str | None = None
    status: str | None = None
    reason: str | None = None


def route_for(settings: Settings, event_type: str, context_key: str) -> Route:
    """Decide the first sink for one event from the settings alone."""
    if settings.sink == "stdout":
        return Route("stdout")
    if settings.sink == "state-hub-progress":
        return Route("state-hub", status="inter_hub_sink_deferred", reason="OPS_EVIDENCE_SINK")
    missing = [m for m in settings.inter_hub_missing() if m != "OPS_HUB_WIDGET_MAPPING"]
    if missing:
        return Route(
            "state-hub", status="missing_inter_hub_config", reason=", ".join(missing) + " not set"
        )
    if not settings.inter_hub_submit and settings.sink == "auto":
        return Route(
            "state-hub", status="inter_hub_sink_deferred", reason="OPS_EVIDENCE_INTER_HUB_SUBMIT"
        )
    mapping = settings.widget_mapping
    widget = mapping.widget_for(event_type, context_key) if mapping else None
    if widget is None:
        return Route(
            "state-hub",
            status="missing_widget_mapping",
            reason=f"no widget for {context_key} or {event_type}",
        )
    return Route("inter-hub", widget_id=widget)

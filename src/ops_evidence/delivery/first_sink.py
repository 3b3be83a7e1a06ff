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
    # False only when OPS_EVIDENCE_SINK forces State Hub: no Inter-Hub row is kept at all.
    inter_hub_row: bool = True


def submission_off(settings: Settings) -> str | None:
    """The variable that switches Inter-Hub submission off, or None when it is on.

    The one place that decides it: the route at enqueue and the hold at dispatch (a row
    stored while submission was on) both ask here, so they cannot disagree.
    """
    if settings.sink == "state-hub-progress":
        return "OPS_EVIDENCE_SINK"
    if not settings.inter_hub_submit:
        return "OPS_EVIDENCE_INTER_HUB_SUBMIT"
    return None


def route_for(settings: Settings, event_type: str, context_key: str) -> Route:
    """Decide the first sink for one event from the settings alone."""
    if settings.sink == "stdout":
        return Route("stdout")
    off = submission_off(settings)
    if settings.sink == "state-hub-progress":
        return Route("state-hub", None, "inter_hub_sink_deferred", off, inter_hub_row=False)
    missing = [m for m in settings.inter_hub_missing() if m != "OPS_HUB_WIDGET_MAPPING"]
    if missing:
        return Route(
            "state-hub", status="missing_inter_hub_config", reason=", ".join(missing) + " not set"
        )
    if off is not None:
        # Whatever OPS_EVIDENCE_SINK chose (`auto` or `inter-hub`): nothing is posted.
        return Route("state-hub", status="inter_hub_sink_deferred", reason=off)
    mapping = settings.widget_mapping
    widget = mapping.widget_for(event_type, context_key) if mapping else None
    if widget is None:
        return Route(
            "state-hub",
            status="missing_widget_mapping",
            reason=f"no widget for {context_key} or {event_type}",
        )
    return Route("inter-hub", widget_id=widget)

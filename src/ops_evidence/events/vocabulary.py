"""The ops-hub manifest vocabulary (seed `ops-hub-evidence-intake.md`), in one place.

Everything that names an event type, widget type, policy scope or annotation category
reads it from here: the event models, the emulator's default manifest, `seed-widgets`,
`smoke` and `manifest`.
"""

from __future__ import annotations

from typing import Final, Literal

HUB_NAME: Final = "ops-hub"
VSM_FUNCTION: Final = "OPS"
VSM_SYSTEM: Final = "S1"
POLICY_SCOPE: Final = "ops-evidence"
ANNOTATION_CATEGORY: Final = "ops-risk"
STATE_HUB_EVENT_TYPE: Final = "ops_inventory_probe"

EventTypeName = Literal[
    "ops-service-observed",
    "ops-endpoint-verified",
    "ops-access-path-checked",
    "ops-backup-verified",
    "ops-inventory-drift",
    "ops-readiness-gate-updated",
]

# Event type -> (widget type, inventory section, context-key prefix, widget name prefix).
# The widget name prefix follows the seeds' "First Ops Widgets" list (ops-endpoint-…).
EVENT_TYPES: Final[dict[str, tuple[str, str, str, str]]] = {
    "ops-service-observed": ("ops-service-card", "services", "service", "ops-service-"),
    "ops-endpoint-verified": ("ops-endpoint-card", "endpoints", "endpoint", "ops-endpoint-"),
    "ops-access-path-checked": (
        "ops-access-path-card",
        "access_paths",
        "access-path",
        "ops-access-path-",
    ),
    "ops-backup-verified": ("ops-backup-card", "backups", "backup", "ops-backup-"),
    "ops-inventory-drift": ("ops-drift-card", "environments", "environment", "ops-env-"),
    # Gates are not inventory entities: their ids come from the shipped gate catalog.
    "ops-readiness-gate-updated": ("ops-readiness-card", "gates", "gate", "ops-readiness-"),
}

WIDGET_TYPES: Final = tuple(spec[0] for spec in EVENT_TYPES.values())


def widget_type_for(event_type: str) -> str:
    """The widget type that displays an event type."""
    return EVENT_TYPES[event_type][0]


def context_key(event_type: str, entity_id: str) -> str:
    """The envelope's `context_key` for an inventory entity, e.g. `endpoint:gitea-registry`."""
    return f"{EVENT_TYPES[event_type][2]}:{entity_id}"


def entity_widget_name(event_type: str, entity_id: str) -> str:
    """Per-entity widget name as in the seeds, e.g. `ops-endpoint-gitea-registry`."""
    return f"{EVENT_TYPES[event_type][3]}{entity_id}"


def aggregate_widget_name(event_type: str) -> str:
    """Name of the one aggregate widget per event type, e.g. `ops-endpoint-verified`."""
    return event_type

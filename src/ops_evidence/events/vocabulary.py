"""The ops-hub manifest vocabulary (seed `ops-hub-evidence-intake.md`), in one place, and
the one table of event types.

Everything that names an event type, widget type, policy scope or annotation category
reads it from here: the event models, the emulator's default manifest, `seed-widgets`,
`smoke` and `manifest`.

`EVENT_TYPES` holds one frozen `EventTypeSpec` per type: the facts of the event contract
(model, widget type, inventory section, context-key prefix, whether it is derived). The
schemas, the manifest, the router's model lookup (`events.registry`), the widget mapping's
validation, `Inventory.probe_targets` and the probe plan's entity lookups all derive from it.
The probe that produces a type is the one fact that cannot live here: probes sit two layers
up (they import the checks and the inventory), so `probes/registry.py` keeps a literal map
from the same type names to their probes, and a test holds the two key sets equal. The model
is named, not imported: building the models (`events.types`) takes tens of milliseconds that a
command needing only this vocabulary (the emulator, `seed-widgets`) should not pay;
`events.registry` resolves the name on first use.

Adding an event type is two edits (docs/operations.md, "Adding an event type"): its model in
`events/types.py` with its row here, and its probe with its row in `probes/registry.PROBES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

HUB_NAME: Final = "ops-hub"
VSM_FUNCTION: Final = "OPS"
VSM_SYSTEM: Final = "S1"
POLICY_SCOPE: Final = "ops-evidence"
ANNOTATION_CATEGORY: Final = "ops-risk"
STATE_HUB_EVENT_TYPE: Final = "ops_inventory_probe"


@dataclass(frozen=True, slots=True)
class EventTypeSpec:
    """One event type's place in the contract."""

    name: str
    # The class name of its model in `events/types.py` (resolved by `events.registry`).
    model: str
    widget_type: str
    # The `Inventory` section whose entries it runs for; `gates` come from the gate catalog.
    section: str
    # `context_key` is `<prefix>:<entity id>`, e.g. `endpoint:gitea-registry`.
    prefix: str
    # Per-entity widget names, as in the seeds' "First Ops Widgets" list (`ops-endpoint-…`).
    widget_name_prefix: str
    # Computed from the other probes' observations (no network), so run after them in a pass.
    derived: bool = False
    # The entity attribute holding the type's own settings (`restore` on a backup): the type
    # runs only for entries where it is set, on the schedule it declares.
    config: str | None = None


def _table(*specs: EventTypeSpec) -> dict[str, EventTypeSpec]:
    return {spec.name: spec for spec in specs}


# Declaration order is the order schemas, the manifest, the plan and the router list them.
EVENT_TYPES: Final[dict[str, EventTypeSpec]] = _table(
    EventTypeSpec(
        "ops-service-observed",
        model="ServiceObserved",
        widget_type="ops-service-card",
        section="services",
        prefix="service",
        widget_name_prefix="ops-service-",
    ),
    EventTypeSpec(
        "ops-endpoint-verified",
        model="EndpointVerified",
        widget_type="ops-endpoint-card",
        section="endpoints",
        prefix="endpoint",
        widget_name_prefix="ops-endpoint-",
    ),
    EventTypeSpec(
        "ops-access-path-checked",
        model="AccessPathChecked",
        widget_type="ops-access-path-card",
        section="access_paths",
        prefix="access-path",
        widget_name_prefix="ops-access-path-",
    ),
    EventTypeSpec(
        "ops-backup-verified",
        model="BackupVerified",
        widget_type="ops-backup-card",
        section="backups",
        prefix="backup",
        widget_name_prefix="ops-backup-",
    ),
    EventTypeSpec(
        "ops-restore-tested",
        model="RestoreTested",
        widget_type="ops-restore-card",
        section="backups",
        prefix="restore",
        widget_name_prefix="ops-restore-",
        config="restore",
    ),
    EventTypeSpec(
        "ops-inventory-drift",
        model="InventoryDrift",
        widget_type="ops-drift-card",
        section="environments",
        prefix="environment",
        widget_name_prefix="ops-env-",
        derived=True,
    ),
    EventTypeSpec(
        "ops-readiness-gate-updated",
        model="ReadinessGateUpdated",
        widget_type="ops-readiness-card",
        section="gates",
        prefix="gate",
        widget_name_prefix="ops-readiness-",
        derived=True,
    ),
)

WIDGET_TYPES: Final = tuple(spec.widget_type for spec in EVENT_TYPES.values())


def widget_type_for(event_type: str) -> str:
    """The widget type that displays an event type."""
    return EVENT_TYPES[event_type].widget_type


def context_key(event_type: str, entity_id: str) -> str:
    """The envelope's `context_key` for an inventory entity, e.g. `endpoint:gitea-registry`."""
    return f"{EVENT_TYPES[event_type].prefix}:{entity_id}"


def entity_widget_name(event_type: str, entity_id: str) -> str:
    """Per-entity widget name as in the seeds, e.g. `ops-endpoint-gitea-registry`."""
    return f"{EVENT_TYPES[event_type].widget_name_prefix}{entity_id}"


def aggregate_widget_name(event_type: str) -> str:
    """Name of the one aggregate widget per event type, e.g. `ops-endpoint-verified`."""
    return event_type

"""`seed-widgets`: create the Inter-Hub widgets the mapping needs, idempotently.

Wanted widgets come from the vocabulary: one per inventory entity (`ops-endpoint-gitea-registry`,
keyed in the mapping by context key) and/or one aggregate widget per event type (named after
the type, keyed by it). Existing widgets are listed over *all* pages; a wanted widget exists
when a widget with its name lives in the same hub. Only missing ones are created, so a second
run creates nothing. A widget with the right name but another widget type is a conflict: it
is neither used nor replaced, and the operator decides.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from ops_evidence.config.widget_mapping import WidgetMapping
from ops_evidence.delivery.sinks.inter_hub_client import (
    API,
    HubRefused,
    InterHubClient,
    response_data,
)
from ops_evidence.errors import ConfigError, UnavailableError, UsageError
from ops_evidence.events.vocabulary import (
    EVENT_TYPES,
    HUB_NAME,
    POLICY_SCOPE,
    aggregate_widget_name,
    context_key,
    entity_widget_name,
    widget_type_for,
)
from ops_evidence.inventory import Inventory

Kind = Literal["entity", "aggregate"]
Action = Literal["exists", "created", "would create", "conflict"]


@dataclass(frozen=True, slots=True)
class WantedWidget:
    """A widget the mapping needs: its mapping key (context key or event type) and its name."""

    kind: Kind
    key: str
    event_type: str
    name: str
    widget_type: str


@dataclass(frozen=True, slots=True)
class SeededWidget:
    """What happened to one wanted widget."""

    wanted: WantedWidget
    action: Action
    widget_id: str | None = None
    note: str = ""


@dataclass(slots=True)
class SeedReport:
    """The hub used, each widget's outcome, and the resulting mapping."""

    hub_id: str
    hub_id_source: str
    dry_run: bool
    widgets: list[SeededWidget] = field(default_factory=list)

    @property
    def conflicts(self) -> list[SeededWidget]:
        """Widgets whose name is taken by a widget of another type."""
        return [w for w in self.widgets if w.action == "conflict"]

    def mapping(self) -> WidgetMapping:
        """`OPS_HUB_WIDGET_MAPPING` from every widget that exists now."""
        entities = {
            w.wanted.key: w.widget_id
            for w in self.widgets
            if w.widget_id and w.wanted.kind == "entity"
        }
        types = {
            w.wanted.key: w.widget_id
            for w in self.widgets
            if w.widget_id and w.wanted.kind == "aggregate"
        }
        return WidgetMapping.model_validate({"entities": entities, "event_types": types})

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON (the mapping under `mapping`)."""
        return {
            "hub_id": self.hub_id,
            "hub_id_source": self.hub_id_source,
            "dry_run": self.dry_run,
            "widgets": [
                {
                    "kind": w.wanted.kind,
                    "key": w.wanted.key,
                    "name": w.wanted.name,
                    "widget_type": w.wanted.widget_type,
                    "action": w.action,
                    "widget_id": w.widget_id,
                    "note": w.note,
                }
                for w in self.widgets
            ],
            "mapping": self.mapping().model_dump(mode="json"),
        }


def wanted_widgets(
    inventory: Inventory | None, *, per_entity: bool, aggregate: bool
) -> list[WantedWidget]:
    """Per-entity widgets for every probed inventory entity, then one aggregate per type."""
    wanted: list[WantedWidget] = []
    if per_entity:
        if inventory is None:
            raise UsageError("--per-entity needs an inventory (--inventory FILE)")
        for event_type, ids in inventory.probe_targets().items():
            wanted.extend(
                WantedWidget(
                    "entity",
                    context_key(event_type, entity_id),
                    event_type,
                    entity_widget_name(event_type, entity_id),
                    widget_type_for(event_type),
                )
                for entity_id in ids
            )
    if aggregate:
        wanted.extend(
            WantedWidget("aggregate", t, t, aggregate_widget_name(t), widget_type_for(t))
            for t in EVENT_TYPES
        )
    return wanted


def choose_hub_id(explicit: str | None, widgets: list[dict[str, Any]]) -> tuple[str, str]:
    """(hub id, where it came from): `--hub-id`, else the one hub that already holds
    `ops-evidence` widgets, else the manifest's hub name. Two such hubs need `--hub-id`."""
    if explicit:
        return explicit, "--hub-id"
    hubs = {
        str(w["hubId"]) for w in widgets if w.get("policyScope") == POLICY_SCOPE and w.get("hubId")
    }
    if len(hubs) > 1:
        raise UsageError(
            f"{POLICY_SCOPE} widgets exist in {len(hubs)} hubs ({', '.join(sorted(hubs))}); "
            "choose one with --hub-id"
        )
    if hubs:
        return hubs.pop(), f"existing {POLICY_SCOPE} widgets"
    return HUB_NAME, "default (the manifest's hub name)"


async def seed_widgets(
    hub: InterHubClient, wanted: list[WantedWidget], *, hub_id: str | None, dry_run: bool
) -> SeedReport:
    """List every widget, create the missing wanted ones (unless `dry_run`), report all."""
    try:
        listed = [w for w in await hub.list_all("/widgets") if isinstance(w, dict)]
    except HubRefused as exc:
        raise _refused(exc) from None
    chosen, source = choose_hub_id(hub_id, listed)
    report = SeedReport(chosen, source, dry_run)
    in_hub = [w for w in listed if str(w.get("hubId", chosen)) == chosen]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for widget in in_hub:
        by_name.setdefault(str(widget.get("name")), []).append(widget)
    for want in wanted:
        report.widgets.append(await _one(hub, want, by_name.get(want.name, []), report))
    return report


async def _one(
    hub: InterHubClient, want: WantedWidget, same_name: list[dict[str, Any]], report: SeedReport
) -> SeededWidget:
    matching = [w for w in same_name if w.get("widgetType") == want.widget_type]
    if matching:
        # Names are not unique in Inter-Hub; the oldest (listed first) is the stable choice.
        note = (
            f"{len(matching)} widgets with this name; using the first" if len(matching) > 1 else ""
        )
        return SeededWidget(want, "exists", str(matching[0].get("id")), note)
    if same_name:
        types = Counter(str(w.get("widgetType")) for w in same_name)
        note = f"name taken by widget type {', '.join(types)}; rename or fix it in Inter-Hub"
        return SeededWidget(want, "conflict", None, note)
    if report.dry_run:
        return SeededWidget(want, "would create")
    created = await _create(hub, want, report.hub_id)
    return SeededWidget(want, "created", created)


async def _create(hub: InterHubClient, want: WantedWidget, hub_id: str) -> str:
    body = {
        "hubId": hub_id,
        "name": want.name,
        "widgetType": want.widget_type,
        "policyScope": POLICY_SCOPE,
        "status": "active",
    }
    response = await hub.post("/widgets", body)
    data = response_data(response)
    if response.status_code not in (200, 201) or not isinstance(data, dict) or "id" not in data:
        # Widgets created before this one stay; a re-run finds them and continues.
        raise _refused(HubRefused(f"POST {API}/widgets ({want.name})", response))
    return str(data["id"])


def _refused(exc: HubRefused) -> Exception:
    # A refused key or hub is the operator's configuration; anything else, the hub's state.
    if exc.status in (401, 403):
        return ConfigError(f"{exc} (check OPS_HUB_KEY)")
    if exc.status == 422:
        return ConfigError(f"{exc} (check --hub-id and the hub's registries)")
    return UnavailableError(str(exc))

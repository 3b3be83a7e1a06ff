"""`ops-evidence validate`: check settings and inventory, print what would be probed."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from ops_evidence.cli.common import (
    add_inventory_argument,
    print_json,
    print_table,
    settings_and_inventory,
)
from ops_evidence.config.settings import Settings
from ops_evidence.delivery.first_sink import route_for
from ops_evidence.delivery.sinks.http import check_key_transport
from ops_evidence.events.vocabulary import context_key
from ops_evidence.inventory import Inventory


def register(sub: Any) -> None:
    """Add the `validate` subcommand."""
    parser = sub.add_parser("validate", help="check settings and inventory; print the plan")
    add_inventory_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate and print the summary; ConfigError (78) on any problem."""
    settings, inventory = settings_and_inventory(args)
    if settings.inter_hub_url is not None and settings.ops_hub_key is not None:
        # The same refusal `run` would meet when it builds the Inter-Hub sink.
        check_key_transport(
            str(settings.inter_hub_url), allow_insecure=settings.allow_insecure_http
        )
    entities = _routed_entities(settings, inventory)
    counts = Counter(e["event_type"] for e in entities)
    summary = {
        "inventory": str(args.inventory or settings.inventory),
        "name": inventory.name,
        "counts": dict(counts),
        "sink_setting": settings.sink,
        "inter_hub_missing": settings.inter_hub_missing(),
        "sinks": sorted({str(e["sink"]) for e in entities}),
        "entities": entities,
    }
    if args.json:
        print_json(summary)
        return 0
    print(f"inventory {summary['inventory']} ({inventory.name}): valid")
    print_table(["event type", "probes"], sorted(counts.items()))
    print()
    _print_routes(settings, entities)
    return 0


def _routed_entities(settings: Settings, inventory: Inventory) -> list[dict[str, str | None]]:
    """Every probed entity with the first sink its events would take."""
    entities = []
    for event_type, ids in inventory.probe_targets().items():
        for entity_id in ids:
            key = context_key(event_type, entity_id)
            route = route_for(settings, event_type, key)
            entities.append(
                {
                    "event_type": event_type,
                    "context_key": key,
                    "sink": route.sink,
                    "widget_id": route.widget_id,
                    "fallback_status": route.status,
                }
            )
    return entities


def _print_routes(settings: Settings, entities: list[dict[str, str | None]]) -> None:
    missing = ", ".join(settings.inter_hub_missing()) or "nothing"
    print(f"sink setting: {settings.sink}; Inter-Hub missing: {missing}")
    print_table(
        ["context key", "event type", "sink", "widget / fallback status"],
        [
            (e["context_key"], e["event_type"], e["sink"], e["widget_id"] or e["fallback_status"])
            for e in entities
        ],
    )

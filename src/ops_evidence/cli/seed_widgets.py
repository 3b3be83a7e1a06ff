"""`ops-evidence seed-widgets`: create the missing widgets and print OPS_HUB_WIDGET_MAPPING.

`--per-entity` and `--aggregate` choose the widgets (neither: both). Exit 0 when every wanted
widget exists (or would be created, with `--dry-run`), 1 on a name conflict, 64 on bad
usage, 69 when Inter-Hub is unreachable, 78 on missing or refused configuration.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ops_evidence.cli.common import add_inventory_argument, print_json, print_table
from ops_evidence.cli.rollout_common import rollout_settings, with_hub
from ops_evidence.inventory import load_inventory
from ops_evidence.rollout.seed_widgets import SeedReport, seed_widgets, wanted_widgets

EXIT_CONFLICT = 1


def register(sub: Any) -> None:
    """Add the `seed-widgets` subcommand."""
    parser = sub.add_parser(
        "seed-widgets", help="create missing Inter-Hub widgets; print OPS_HUB_WIDGET_MAPPING"
    )
    add_inventory_argument(parser)
    parser.add_argument(
        "--per-entity",
        action="store_true",
        help="one widget per inventory entity (e.g. ops-endpoint-gitea-registry)",
    )
    parser.add_argument(
        "--aggregate",
        action="store_true",
        help="one widget per event type; neither flag: both kinds",
    )
    parser.add_argument(
        "--hub-id",
        metavar="ID",
        help="hub to create widgets in (default: the hub of existing "
        "ops-evidence widgets, else ops-hub)",
    )
    parser.add_argument("--dry-run", action="store_true", help="create nothing; say what would be")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Seed the widgets and print the report and the mapping."""
    settings = rollout_settings()
    per_entity = args.per_entity or not args.aggregate
    aggregate = args.aggregate or not args.per_entity
    inventory = load_inventory(args.inventory or settings.inventory) if per_entity else None
    wanted = wanted_widgets(inventory, per_entity=per_entity, aggregate=aggregate)
    report = with_hub(
        settings,
        lambda hub: seed_widgets(hub, wanted, hub_id=args.hub_id, dry_run=args.dry_run),
    )
    if args.json:
        print_json(report.as_json())
    else:
        print_report(report)
    return EXIT_CONFLICT if report.conflicts else 0


def print_report(report: SeedReport) -> None:
    """Each widget's outcome, then the mapping as one JSON line."""
    print(f"hub {report.hub_id} ({report.hub_id_source})")
    print_table(
        ["widget", "widget type", "mapping key", "action", "widget id"],
        [
            (
                w.wanted.name,
                w.wanted.widget_type,
                w.wanted.key,
                w.action + (f" ({w.note})" if w.note else ""),
                w.widget_id or "",
            )
            for w in report.widgets
        ],
    )
    actions = [w.action for w in report.widgets]
    verb = "would create" if report.dry_run else "created"
    print(
        f"\n{actions.count('would create' if report.dry_run else 'created')} {verb}, "
        f"{actions.count('exists')} existing, {actions.count('conflict')} conflicts"
    )
    mapping = report.mapping().model_dump(mode="json")
    label = "dry run: existing widgets only" if report.dry_run else "paste into the runtime config"
    print(f"\nOPS_HUB_WIDGET_MAPPING ({label}):")
    print(json.dumps(mapping, sort_keys=True, separators=(",", ":")))

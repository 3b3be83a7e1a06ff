"""`ops-evidence smoke [--inventory FILE] [--json] [--record]`: production gate 6.

See rollout.smoke. `--record` keeps the verdict as evidence for readiness gate OPS-G15.
Exit 0 only when every check passes (one per declared type, plus the undeclared one), 1 when
one fails, 69 when Inter-Hub is unreachable, 78 when INTER_HUB_URL, OPS_HUB_KEY or
OPS_HUB_WIDGET_MAPPING is unset or invalid.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ops_evidence.cli.common import add_inventory_argument, print_json, print_table
from ops_evidence.cli.rollout_common import (
    add_record_argument,
    record_if_asked,
    rollout_settings,
    with_hub,
)
from ops_evidence.errors import ConfigError
from ops_evidence.inventory import load_inventory
from ops_evidence.rollout.smoke import SmokeReport, run_smoke

EXIT_FAILED = 1


def register(sub: Any) -> None:
    """Add the `smoke` subcommand."""
    parser = sub.add_parser(
        "smoke", help="send one event per declared type; prove an undeclared type is rejected"
    )
    add_inventory_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_record_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the checks and print what was sent and what came back."""
    settings = rollout_settings()
    mapping = settings.widget_mapping
    if mapping is None or mapping.is_empty():
        # Name every missing variable at once, so one fix-and-retry is enough.
        missing = [f"{m} is not set" for m in settings.inter_hub_missing()]
        raise ConfigError(
            "Inter-Hub is not configured for smoke (the mapping comes from `seed-widgets`)",
            problems=missing,
        )
    # The inventory only picks entity widgets when no aggregate is mapped; read it when named.
    entity_ids = None
    if args.inventory or "inventory" in settings.model_fields_set:
        entity_ids = load_inventory(args.inventory or settings.inventory).probe_targets()
    report = with_hub(settings, lambda hub: run_smoke(hub, mapping, entity_ids))
    record_if_asked(args, settings, "smoke", report.ok, report.verdict())
    if args.json:
        print_json(report.as_json())
    else:
        print_report(report)
    return 0 if report.ok else EXIT_FAILED


def print_report(report: SmokeReport) -> None:
    """The checks as a table, then each request and answer as compact JSON."""
    print(f"smoke run {report.run_id} (viewContext {report.view_context})")
    print_table(
        ["event type", "expect", "widget", "http", "result", "detail"],
        [
            (
                c.event_type,
                c.expect,
                c.widget_id or "",
                c.http_status or "",
                "ok" if c.ok else "FAIL",
                c.detail,
            )
            for c in report.checks
        ],
    )
    for check in report.checks:
        if check.sent is not None:
            print(f"\n{check.event_type}:")
            print(f"  sent: {json.dumps(check.sent, sort_keys=True)}")
            print(f"  got:  {check.http_status} {json.dumps(check.answer, sort_keys=True)}")
    print(f"\nsmoke {report.verdict()}")

"""`ops-evidence gate-probe [--json] [--record]`: can Inter-Hub submission go live?

See rollout.preflight. `--record` keeps the verdict as evidence for readiness gate OPS-G15.
Exit 0 when it can, 1 when a blocking check fails, 69 when Inter-Hub cannot be reached,
78 when INTER_HUB_URL or OPS_HUB_KEY is unset or invalid.
"""

from __future__ import annotations

import argparse
from typing import Any

from ops_evidence.cli.common import print_json, print_table
from ops_evidence.cli.rollout_common import (
    add_record_argument,
    record_if_asked,
    rollout_settings,
    with_hub,
)
from ops_evidence.rollout.preflight import GateReport, probe_gates

EXIT_CLOSED = 1


def register(sub: Any) -> None:
    """Add the `gate-probe` subcommand."""
    parser = sub.add_parser(
        "gate-probe", help="can Inter-Hub submission go live? endpoints, key, widgets"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_record_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Probe, print the gate table, exit 0 only when submission can go live."""
    settings = rollout_settings()
    mapping = settings.widget_mapping
    report = with_hub(settings, lambda hub: probe_gates(hub, mapping))
    failed = [c.check for c in report.checks if c.blocking and not c.ok]
    detail = "submission can go live" if report.live else f"blocked: {', '.join(failed)}"
    record_if_asked(args, settings, "gate-probe", report.live, detail)
    if args.json:
        print_json(report.as_json())
    else:
        print_report(report)
    return 0 if report.live else EXIT_CLOSED


def print_report(report: GateReport) -> None:
    """The gate table and the verdict."""
    print(f"Inter-Hub {report.inter_hub_url}")
    rows = [
        (
            c.check,
            "ok" if c.ok else "FAIL" if c.blocking else "absent",
            "yes" if c.blocking else "no",
            c.detail,
        )
        for c in report.checks
    ]
    print_table(["gate", "result", "blocks go-live", "detail"], rows)
    print()
    if report.live:
        print("submission can go live: next, `ops-evidence smoke`")
    else:
        failed = [c.check for c in report.checks if c.blocking and not c.ok]
        print(f"submission cannot go live yet: {', '.join(failed)}")

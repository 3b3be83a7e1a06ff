"""`ops-evidence run [--once] [--dry-run]`: the service, one pass, or a printed dry run.

Exit codes of `--once`: 0 when every probe verified; 1 when a probe ran and did not verify
(or crashed) — a readiness gate short of `ready` is a status in the table, not a failure;
78 for configuration errors. The long-running service exits 0 after a clean
SIGTERM/SIGINT shutdown.
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from ops_evidence.cli.common import add_inventory_argument, print_table, settings_and_inventory
from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.probes.restore_tested import sweep_leftovers
from ops_evidence.schedule.probe_jobs import build_jobs
from ops_evidence.schedule.runner import RunRecord
from ops_evidence.service.lifecycle import Service

EXIT_PROBE_FAILED = 1


def register(sub: Any) -> None:
    """Add the `run` subcommand."""
    parser = sub.add_parser("run", help="run the service (or one pass with --once)")
    add_inventory_argument(parser)
    parser.add_argument(
        "--once", action="store_true", help="every probe once, deliver, print a summary"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print events as JSON lines instead of delivering"
    )
    parser.add_argument(
        "--grace", type=float, default=10.0, help="seconds allowed for in-flight work at shutdown"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Start the service or a single pass."""
    settings, inventory = settings_and_inventory(args)
    # Before any drill starts: what a killed drill left in its scratch (probes.restore_tested).
    sweep_leftovers(inventory, settings.state_dir)
    jobs = build_jobs(inventory, state_dir=settings.state_dir)
    service = Service(settings, jobs, dry_run=args.dry_run, grace=args.grace)
    if not args.once:
        anyio.run(service.run)
        return 0
    records, outcomes = anyio.run(service.run_once)
    if not args.dry_run:
        _summary(records, outcomes)
    failed = [r for r in records if r.event is None or r.event.attributes.failed]
    return EXIT_PROBE_FAILED if failed else 0


def _summary(records: list[RunRecord], outcomes: dict[str, list[Delivery]]) -> None:
    rows = []
    for record in records:
        event = record.event
        if event is None:
            rows.append((record.job.key, "error", record.error or "", ""))
            continue
        attrs = event.attributes
        sinks = ", ".join(f"{d.sink}:{d.status}" for d in outcomes.get(event.idempotency_key, []))
        rows.append((record.job.key, attrs.verdict, attrs.reason or "", sinks or "not emitted"))
    print_table(["probe", "verdict", "reason", "sink outcome"], rows)

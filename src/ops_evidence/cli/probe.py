"""`ops-evidence probe <context_key>`: run one probe now and print its event.

The operator's debugging tool. Exit codes: 0 the probe verified, 1 it ran and did not verify
(the event says why), 64 the context key is not in the inventory's plan, 78 bad settings or
inventory. Probing a derived target first runs the observations it is computed from:
`environment:<id>` (drift) that environment's entities, `gate:OPS-Gxx` every entity.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import anyio

from ops_evidence.cli.common import add_inventory_argument, print_table, settings_and_inventory
from ops_evidence.errors import UsageError
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.inventory.models import Inventory
from ops_evidence.probes import ProbeContext, derived, find_target, observe, run_probe

EX_NOT_VERIFIED = 1


def register(sub: Any) -> None:
    """Add the `probe` subcommand."""
    parser = sub.add_parser(
        "probe",
        help="run one probe now and print its event",
        description="Run one probe now and print its event (the operator's debugging tool).",
        epilog="exit status: 0 verified, 1 not verified (the event says why), "
        "64 unknown context key, 78 bad settings or inventory",
    )
    parser.add_argument("context_key", help="e.g. endpoint:gitea-registry (see `validate`)")
    add_inventory_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the event as JSON")
    parser.set_defaults(handler=run)


async def probe_now(inventory: Inventory, key: str, state_dir: Path | None = None) -> EvidenceEvent:
    """Run the probe of `key` (a derived one after the observations it reads)."""
    target = find_target(inventory, key)
    if target is None:
        raise UsageError(f"{key} is not a probe of this inventory; `validate` lists them")
    ctx = ProbeContext(inventory, state_dir=state_dir)
    if derived(target.event_type):
        await observe(ctx, target.environment)
    return await run_probe(ctx, target)


def run(args: argparse.Namespace) -> int:
    """Probe once, print the event, exit 0 when verified and 1 when not."""
    settings, inventory = settings_and_inventory(args)
    event = anyio.run(probe_now, inventory, args.context_key, settings.state_dir)
    data = event.model_dump(mode="json")
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        attributes = data.pop("attributes")
        rows = [(k, v) for k, v in data.items()]
        rows += [
            (k, json.dumps(v) if isinstance(v, list | dict) else v)
            for k, v in attributes.items()
            if v not in (None, [], {})
        ]
        print_table(["field", "value"], rows)
    return 0 if event.attributes.verified else EX_NOT_VERIFIED

"""`ops-evidence gates [--inventory FILE] [--observe] [--json]`: the readiness gates and waves.

Evaluates OPS-G01…G15 from the inventory (declarations, manual evidence in `gates:`,
exemptions in `exemptions:`), the
outcomes `gate-probe --record` / `smoke --record` left in the state directory and, with
`--observe`, one pass of every observation probe first (this probes the inventory's real
targets). Without `--observe` the gates that need observations report `unknown` (no evidence
yet) or what the declarations alone show. Exit 0 whatever the gates say (it is a report);
78 for a bad inventory or setting.
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from ops_evidence.cli.common import (
    add_inventory_argument,
    print_json,
    print_table,
    settings_and_inventory,
)
from ops_evidence.probes import ProbeContext, observe
from ops_evidence.probes.readiness.evaluation import (
    GateResult,
    WaveResult,
    evaluate_gates,
    evaluate_waves,
)
from ops_evidence.probes.readiness.probe import gate_evidence
from ops_evidence.probes.restore_tested import sweep_leftovers


def register(sub: Any) -> None:
    """Add the `gates` subcommand."""
    parser = sub.add_parser(
        "gates",
        help="readiness gates OPS-G01…G15 and migration waves, evaluated from evidence",
        description="Readiness gates and migration waves, evaluated from evidence.",
    )
    add_inventory_argument(parser)
    parser.add_argument(
        "--observe", action="store_true", help="run every observation probe once first"
    )
    parser.add_argument("--json", action="store_true", help="print gates and waves as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the gate table and each wave's readiness."""
    settings, inventory = settings_and_inventory(args)
    ctx = ProbeContext(inventory, state_dir=settings.state_dir)
    if args.observe:
        # Restore drills run too: first remove what a killed drill left (as `run` does).
        sweep_leftovers(inventory, settings.state_dir)
        anyio.run(observe, ctx)
    gates = evaluate_gates(gate_evidence(ctx))
    waves = evaluate_waves({g.gate.id: g.status for g in gates})
    if args.json:
        print_json({"gates": [g.as_json() for g in gates], "waves": [w.as_json() for w in waves]})
    else:
        print_report(gates, waves)
    return 0


def print_report(gates: list[GateResult], waves: list[WaveResult]) -> None:
    """The gate table (first reason of each), then one row per wave."""
    print_table(
        ["gate", "status", "seed", "decided by", "name", "reason"],
        [
            (
                g.gate.id,
                g.label,
                g.gate.seed_status,
                g.decided_by,
                g.gate.name,
                g.reasons[0] if g.reasons else "",
            )
            for g in gates
        ],
    )
    print()
    print_table(
        ["wave", "ready", "status", "gates"],
        [
            (
                w.wave.id,
                w.label,
                w.status,
                ", ".join(f"{gate} {status}" for gate, status in w.gates.items()),
            )
            for w in waves
        ],
    )
    ready = sum(g.status == "ready" for g in gates)
    exempt = sum(g.exempt for g in gates)
    # An exemption in force is said in the summary too, never folded into "ready".
    exempt_note = f", {exempt} exempt" if exempt else ""
    print(
        f"\n{ready} of {len(gates)} gates ready{exempt_note}; {sum(w.ready for w in waves)} "
        f"of {len(waves)} waves ready"
    )

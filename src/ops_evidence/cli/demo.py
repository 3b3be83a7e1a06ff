"""`ops-evidence demo`: emulators, local targets and the service, all on loopback."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import anyio

from ops_evidence.logging import configure_logging


def register(sub: Any) -> None:
    """Add the `demo` subcommand."""
    parser = sub.add_parser("demo", help="a self-contained local run: emulators, targets, events")
    parser.add_argument("--listen", default="127.0.0.1:9108", help="status page HOST:PORT")
    parser.add_argument("--duration", type=float, help="stop after SECONDS (default: Ctrl-C)")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 after a clean stop."""
    from ops_evidence.demo.loopback import demo_workdir, run_demo

    configure_logging("info", "console")
    workdir, tmp = demo_workdir(args.workdir)
    try:
        anyio.run(run_demo, args.listen, args.duration, workdir)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0

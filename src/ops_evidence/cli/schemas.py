"""`ops-evidence schemas --check | --write`: keep `event-types/` equal to the models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ops_evidence.errors import EX_CONFIG
from ops_evidence.events.schemas import stale_schemas, write_schemas


def register(sub: Any) -> None:
    """Add the `schemas` subcommand."""
    parser = sub.add_parser("schemas", help="check or write event-types/*.schema.json")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 78 when a file differs")
    mode.add_argument("--write", action="store_true", help="regenerate the files")
    parser.add_argument("--dir", type=Path, default=Path("event-types"), help="schema directory")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check or write; prints one line per file."""
    if args.write:
        for path in write_schemas(args.dir):
            print(f"wrote {path}")
        return 0
    problems = stale_schemas(args.dir)
    for problem in problems:
        sys.stderr.write(f"ops-evidence: {problem}\n")
    if problems:
        sys.stderr.write("ops-evidence: run `ops-evidence schemas --write` and commit\n")
        return EX_CONFIG
    print(f"{args.dir}: all schemas match the models")
    return 0

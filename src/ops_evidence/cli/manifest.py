"""`ops-evidence manifest [--format json|yaml]`: print the ops-hub manifest vocabulary."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ops_evidence.events.manifest import FORMATS, render_manifest


def register(sub: Any) -> None:
    """Add the `manifest` subcommand."""
    parser = sub.add_parser(
        "manifest",
        help="print the ops-hub manifest: event types with schemas, widget types, scope",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="json", help="output format (default: json)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the manifest on stdout; it needs no settings, so it cannot fail on them."""
    sys.stdout.write(render_manifest(args.format))
    return 0

"""Helpers shared by subcommands: loading settings and inventory, printing tables."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ops_evidence.config.settings import Settings, load_settings
from ops_evidence.inventory import Inventory, load_inventory
from ops_evidence.logging import configure_logging


def add_inventory_argument(parser: argparse.ArgumentParser) -> None:
    """`--inventory FILE`, overriding OPS_EVIDENCE_INVENTORY."""
    parser.add_argument(
        "--inventory",
        type=Path,
        metavar="FILE",
        help="inventory YAML (default: $OPS_EVIDENCE_INVENTORY)",
    )


def settings_and_inventory(args: argparse.Namespace) -> tuple[Settings, Inventory]:
    """Load settings (exit 78 on a bad variable), set up logging, load the inventory."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    path = getattr(args, "inventory", None) or settings.inventory
    return settings, load_inventory(path)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned text table on stdout."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def print_json(value: Any) -> None:
    """Pretty JSON on stdout."""
    json.dump(value, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")

"""Rollout fixtures: an InterHubClient on a fresh emulator (in-process or over loopback HTTP),
and the inventories the tools read."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_evidence.inventory import Inventory, load_inventory

# The client fixtures are shared with the client's own tests (tests/delivery/sinks).
from tests.inter_hub_clients import hub_on, mode  # noqa: F401 - fixtures, used by name

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def minimal_inventory() -> Inventory:
    """tests/data/valid-minimal.yaml: one environment, one service, one endpoint."""
    return load_inventory(DATA / "valid-minimal.yaml")

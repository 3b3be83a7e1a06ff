"""The shipped gate catalog: the seed's fifteen gates and five waves, as package data."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml
from pydantic import ValidationError

from ops_evidence.events.gate_catalog import load_catalog, parse_catalog

# The seed's table (ops-hub-readiness-gates.md, 2026-06-14): id -> current status.
SEED_STATUSES = {
    "OPS-G01": "partial",
    "OPS-G02": "partial",
    "OPS-G03": "unknown",
    "OPS-G04": "partial",
    "OPS-G05": "partial",
    "OPS-G06": "unknown",
    "OPS-G07": "unknown",
    "OPS-G08": "partial",
    "OPS-G09": "unknown",
    "OPS-G10": "unknown",
    "OPS-G11": "partial",
    "OPS-G12": "unknown",
    "OPS-G13": "unknown",
    "OPS-G14": "unknown",
    "OPS-G15": "partial",
}


def test_catalog_has_the_seed_gates_and_statuses() -> None:
    """Fifteen gates in seed order, each with the seed's status as its starting point."""
    catalog = load_catalog()
    assert {g.id: g.seed_status for g in catalog.gates} == SEED_STATUSES
    assert catalog.gate_ids() == list(SEED_STATUSES)
    assert catalog.gate("OPS-G05").owners == ("railiance-apps",)


def test_catalog_has_the_five_waves() -> None:
    """The seed's five waves with their required gates."""
    waves = {w.id: w.gates for w in load_catalog().waves}
    assert waves == {
        "wave-0-catalog": ("OPS-G01", "OPS-G02", "OPS-G15"),
        "wave-1-registry-proof": ("OPS-G03", "OPS-G05", "OPS-G08", "OPS-G14"),
        "wave-2-backup-restore": ("OPS-G06", "OPS-G07", "OPS-G13"),
        "wave-3-threephoenix-foundation": ("OPS-G09", "OPS-G10"),
        "wave-4-service-migration": ("OPS-G04", "OPS-G11", "OPS-G12"),
    }


def test_rules_cover_the_gates_evidence_can_decide() -> None:
    """G01, G02, G05, G06, G07, G14 and G15 have rules; the rest wait for manual evidence."""
    ruled = [g.id for g in load_catalog().gates if g.rule is not None]
    assert ruled == ["OPS-G01", "OPS-G02", "OPS-G05", "OPS-G06", "OPS-G07", "OPS-G14", "OPS-G15"]


def test_catalog_is_package_data() -> None:
    """gate_catalog.yaml is read through importlib.resources, so it ships inside the package."""
    text = resources.files("ops_evidence.events").joinpath("gate_catalog.yaml").read_text("utf-8")
    assert parse_catalog(yaml.safe_load(text)) == load_catalog()


def test_a_wave_naming_an_unknown_gate_is_rejected() -> None:
    """A catalog whose wave names a gate it does not define fails validation."""
    data = load_catalog().model_dump(mode="json")
    data["waves"][0]["gates"].append("OPS-G99")
    with pytest.raises(ValidationError, match="OPS-G99"):
        parse_catalog(data)

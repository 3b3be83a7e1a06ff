"""The manifest document: built from the vocabulary and the event models, never retyped."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from ops_evidence.events import event_types, vocabulary
from ops_evidence.events.manifest import build_manifest, render_manifest
from tests.conftest import REPO
from tests.risk_raised import add_risk_raised

SEED_EVENT_TYPES = [
    "ops-service-observed",
    "ops-endpoint-verified",
    "ops-access-path-checked",
    "ops-backup-verified",
    "ops-restore-tested",  # a later type the seeds name (issue 16)
    "ops-inventory-drift",
    "ops-readiness-gate-updated",
]
SEED_WIDGET_TYPES = [
    "ops-service-card",
    "ops-endpoint-card",
    "ops-access-path-card",
    "ops-backup-card",
    "ops-restore-card",
    "ops-drift-card",
    "ops-readiness-card",
]


def test_manifest_declares_the_seed_vocabulary() -> None:
    """Hub, policy scope, annotation category, widget and event types are the seed's."""
    manifest = build_manifest()
    assert manifest["hub"] == "ops-hub"
    assert manifest["policyScopes"] == ["ops-evidence"]
    assert manifest["annotationCategories"] == ["ops-risk"]
    assert manifest["widgetTypes"] == SEED_WIDGET_TYPES
    assert [e["name"] for e in manifest["eventTypes"]] == SEED_EVENT_TYPES


def test_each_event_type_carries_its_committed_schema_and_widget_type() -> None:
    """Every event type's schema equals the committed event-types/ file."""
    for entry in build_manifest()["eventTypes"]:
        committed = REPO / "event-types" / f"{entry['name']}.schema.json"
        assert entry["schema"] == json.loads(committed.read_text(encoding="utf-8"))
        assert entry["widgetType"] == vocabulary.widget_type_for(entry["name"])
        jsonschema.Draft202012Validator.check_schema(entry["schema"])


def test_manifest_follows_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A type added to the table of event types appears with no edit to the manifest."""
    add_risk_raised(monkeypatch)
    names = [e["name"] for e in build_manifest()["eventTypes"]]
    assert names == [*event_types()[:-1], "ops-risk-raised"]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_both_formats_carry_the_same_document(fmt: str) -> None:
    """JSON and YAML output parse back to the same manifest."""
    text = render_manifest("json" if fmt == "json" else "yaml")
    parsed = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert parsed == build_manifest()
    assert text.endswith("\n")

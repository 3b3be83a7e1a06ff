"""The table of event types (`events.vocabulary.EVENT_TYPES`): one spec per type, every
fact the event contract has about it, each stated once."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from ops_evidence.events import vocabulary
from ops_evidence.events.registry import event_model, event_types
from ops_evidence.inventory.models import Inventory


def test_each_row_names_the_model_of_its_type() -> None:
    """Every row's model resolves in `events.types` and declares that row's type."""
    for name, spec in vocabulary.EVENT_TYPES.items():
        assert spec.name == name
        model = event_model(name)
        assert (model.EVENT_TYPE, model.__name__) == (name, spec.model)


def test_a_row_naming_the_wrong_model_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A row whose model is another type's (or missing) fails loudly, rather than
    publishing that type's schema under the new name."""
    backup = vocabulary.EVENT_TYPES["ops-backup-verified"]
    monkeypatch.setitem(
        vocabulary.EVENT_TYPES, "ops-risk-raised", dataclasses.replace(backup, name="x")
    )
    with pytest.raises(TypeError, match="EVENT_TYPE is 'ops-backup-verified'"):
        event_model("ops-risk-raised")
    monkeypatch.setitem(
        vocabulary.EVENT_TYPES, "ops-risk-raised", dataclasses.replace(backup, model="Nope")
    )
    with pytest.raises(TypeError, match="no event model 'Nope'"):
        event_model("ops-risk-raised")


def test_each_section_is_an_inventory_section() -> None:
    """A row's section is one the inventory has (a typo would plan nothing): `section`
    answers for every row and refuses other names."""
    empty = Inventory()
    for spec in vocabulary.EVENT_TYPES.values():
        assert list(empty.section(spec.section)) == []
    with pytest.raises(KeyError):
        empty.section("backup")


def test_derived_types_are_drift_and_gates() -> None:
    """Only the types computed from other observations are marked derived."""
    derived = [t for t in event_types() if vocabulary.EVENT_TYPES[t].derived]
    assert derived == ["ops-inventory-drift", "ops-readiness-gate-updated"]


def test_reading_the_table_builds_no_models() -> None:
    """The vocabulary, the table and the type names cost no model building: `events.types`
    (tens of milliseconds) loads only when a model is asked for."""
    code = (
        "import sys\n"
        "from ops_evidence.events import vocabulary\n"
        "from ops_evidence.events.registry import event_types\n"
        "assert event_types() and vocabulary.WIDGET_TYPES\n"
        "print('ops_evidence.events.types' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = run.stdout
    assert out.strip() == "False"

"""seed-widgets against the emulator: creates only what is missing, idempotently."""

from __future__ import annotations

import pytest

from ops_evidence.emulator import create_app, emulator_state
from ops_evidence.emulator.config import SeedWidget
from ops_evidence.errors import ConfigError, UsageError
from ops_evidence.events.gate_catalog import load_catalog
from ops_evidence.events.vocabulary import EVENT_TYPES, HUB_NAME, POLICY_SCOPE
from ops_evidence.inventory import Inventory
from ops_evidence.rollout.seed_widgets import choose_hub_id, seed_widgets, wanted_widgets
from tests.emulator.conftest import REVOKED_KEY, hub_config
from tests.inter_hub_clients import HubOn

pytestmark = pytest.mark.anyio
GATES = load_catalog().gate_ids()


def test_wanted_widgets_follow_the_vocabulary(minimal_inventory: Inventory) -> None:
    """Per-entity names as in the seeds, keyed by context key; aggregates keyed by type."""
    wanted = wanted_widgets(minimal_inventory, per_entity=True, aggregate=True)
    entity = {(w.key, w.name, w.widget_type) for w in wanted if w.kind == "entity"}
    assert entity == {
        ("service:web", "ops-service-web", "ops-service-card"),
        ("endpoint:web-root", "ops-endpoint-web-root", "ops-endpoint-card"),
        ("environment:local", "ops-env-local", "ops-drift-card"),
        *((f"gate:{g}", f"ops-readiness-{g}", "ops-readiness-card") for g in GATES),
    }
    assert [w.key for w in wanted if w.kind == "aggregate"] == list(EVENT_TYPES)


def test_per_entity_needs_an_inventory() -> None:
    """--per-entity without an inventory is a usage error."""
    with pytest.raises(UsageError, match="--inventory"):
        wanted_widgets(None, per_entity=True, aggregate=False)


async def test_second_run_creates_nothing(hub_on: HubOn, minimal_inventory: Inventory) -> None:
    """The first run creates the 3 entity and 15 gate widgets (aggregates exist); the second none."""
    app = create_app(hub_config(max_page_size=3))
    wanted = wanted_widgets(minimal_inventory, per_entity=True, aggregate=True)
    async with hub_on(app) as hub:
        first = await seed_widgets(hub, wanted, hub_id=None, dry_run=False)
        second = await seed_widgets(hub, wanted, hub_id=None, dry_run=False)
    assert [w.action for w in first.widgets].count("created") == 3 + len(GATES)
    assert {w.action for w in second.widgets} == {"exists"}
    assert second.mapping() == first.mapping()
    assert set(first.mapping().entities) == {
        "service:web",
        "endpoint:web-root",
        "environment:local",
        *(f"gate:{g}" for g in GATES),
    }
    assert emulator_state(app).store.counts()["widgets"] == len(EVENT_TYPES) + 3 + len(GATES)
    created = [
        w for w in emulator_state(app).store.list_widgets(0, 100)[0] if w["name"] == "ops-env-local"
    ]
    assert created[0]["policyScope"] == POLICY_SCOPE
    assert created[0]["widgetType"] == "ops-drift-card"
    assert created[0]["hubId"] == HUB_NAME


async def test_dry_run_creates_nothing(hub_on: HubOn, minimal_inventory: Inventory) -> None:
    """--dry-run says what it would create and maps only widgets that already exist."""
    app = create_app(hub_config())
    wanted = wanted_widgets(minimal_inventory, per_entity=True, aggregate=True)
    async with hub_on(app) as hub:
        report = await seed_widgets(hub, wanted, hub_id=None, dry_run=True)
    assert [w.action for w in report.widgets].count("would create") == 3 + len(GATES)
    assert emulator_state(app).store.counts()["widgets"] == len(EVENT_TYPES)
    assert report.mapping().entities == {}
    assert len(report.mapping().event_types) == len(EVENT_TYPES)


async def test_a_name_taken_by_another_type_is_a_conflict(hub_on: HubOn) -> None:
    """A widget named like an aggregate but of another type is neither used nor duplicated."""
    taken = SeedWidget(id="odd", name="ops-backup-verified", widget_type="ops-endpoint-card")
    app = create_app(hub_config(seed_widgets=(taken,)))
    wanted = wanted_widgets(None, per_entity=False, aggregate=True)
    async with hub_on(app) as hub:
        report = await seed_widgets(hub, wanted, hub_id=None, dry_run=False)
    assert [w.wanted.name for w in report.conflicts] == ["ops-backup-verified"]
    assert "ops-backup-verified" not in report.mapping().event_types
    assert len(report.mapping().event_types) == len(EVENT_TYPES) - 1


async def test_an_unknown_hub_is_a_config_error(hub_on: HubOn) -> None:
    """Creating in a hub that does not exist fails with 78 naming --hub-id."""
    app = create_app(hub_config(seed_widgets=()))
    wanted = wanted_widgets(None, per_entity=False, aggregate=True)
    async with hub_on(app) as hub:
        with pytest.raises(ConfigError, match="--hub-id"):
            await seed_widgets(hub, wanted, hub_id="no-such-hub", dry_run=False)


def test_hub_id_explicit_then_inferred_then_default() -> None:
    """--hub-id wins; else the one hub holding ops-evidence widgets; else ops-hub; two: error."""
    ours = {"hubId": "h1", "policyScope": POLICY_SCOPE}
    other = {"hubId": "h9", "policyScope": "internal"}
    assert choose_hub_id("x", [ours])[0] == "x"
    assert choose_hub_id(None, [ours, other])[0] == "h1"
    assert choose_hub_id(None, [other])[0] == HUB_NAME
    with pytest.raises(UsageError, match="--hub-id"):
        choose_hub_id(None, [ours, {"hubId": "h2", "policyScope": POLICY_SCOPE}])


async def test_a_refused_key_is_a_config_error(hub_on: HubOn) -> None:
    """A revoked key fails the listing with 78 pointing at OPS_HUB_KEY, never showing it."""
    wanted = wanted_widgets(None, per_entity=False, aggregate=True)
    async with hub_on(create_app(hub_config()), key=REVOKED_KEY) as hub:
        with pytest.raises(ConfigError, match="OPS_HUB_KEY") as caught:
            await seed_widgets(hub, wanted, hub_id=None, dry_run=False)
    assert REVOKED_KEY not in caught.value.render()

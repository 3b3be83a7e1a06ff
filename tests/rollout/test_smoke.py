"""smoke against the emulator: a check per declared type, smoke-marked events, and the failures named."""

from __future__ import annotations

import pytest

from ops_evidence.config.widget_mapping import WidgetMapping
from ops_evidence.emulator import create_app, emulator_state
from ops_evidence.emulator.config import ManifestConfig
from ops_evidence.events.registry import event_model, event_types
from ops_evidence.events.vocabulary import EVENT_TYPES
from ops_evidence.rollout.smoke import UNDECLARED_TYPE, pick_widget, run_smoke
from ops_evidence.rollout.smoke_events import smoke_event
from tests.emulator.conftest import REVOKED_KEY, UNBOUND_KEY, hub_config
from tests.inter_hub_clients import HubOn

pytestmark = pytest.mark.anyio

AGGREGATES = WidgetMapping.model_validate({"event_types": {t: f"widget-{t}" for t in EVENT_TYPES}})


async def test_all_checks_pass_on_the_ops_hub(hub_on: HubOn) -> None:
    """Every declared type is accepted, ops-risk-raised is rejected: ok, one check more."""
    app = create_app(hub_config())
    async with hub_on(app) as hub:
        report = await run_smoke(hub, AGGREGATES, run_id="smoke-run-1")
    assert report.ok, report.as_json()
    assert [c.event_type for c in report.checks] == [*EVENT_TYPES, UNDECLARED_TYPE]
    assert [c.http_status for c in report.checks] == [201] * len(EVENT_TYPES) + [422]
    assert report.verdict() == f"all {len(EVENT_TYPES) + 1} checks passed"
    assert "not declared" in report.checks[-1].detail


async def test_smoke_events_carry_the_smoke_view_context(hub_on: HubOn) -> None:
    """Stored smoke events have viewContextRef ops-evidence:smoke:<run id> and metadata.smoke."""
    app = create_app(hub_config())
    async with hub_on(app) as hub:
        await run_smoke(hub, AGGREGATES, run_id="smoke-run-2")
    stored, total = emulator_state(app).store.list_events({}, 0, 100)
    assert total == len(EVENT_TYPES)
    assert {e["viewContextRef"] for e in stored} == {"ops-evidence:smoke:smoke-run-2"}
    assert all(e["metadata"]["smoke"] is True for e in stored)
    assert all(e["metadata"]["attributes"]["verified"] is False for e in stored)


async def test_a_manifest_lacking_a_type_fails_and_names_it(hub_on: HubOn) -> None:
    """On a hub whose manifest lacks ops-backup-verified, smoke fails on exactly that type."""
    manifest = ManifestConfig(
        event_types=tuple(t for t in EVENT_TYPES if t != "ops-backup-verified")
    )
    async with hub_on(create_app(hub_config(manifest=manifest))) as hub:
        report = await run_smoke(hub, AGGREGATES)
    assert not report.ok
    failed = [c for c in report.checks if not c.ok]
    assert [c.event_type for c in failed] == ["ops-backup-verified"]
    assert "ops-backup-verified" in failed[0].detail
    assert "not declared" in failed[0].detail


async def test_an_unenforced_manifest_fails_the_rejection_check(hub_on: HubOn) -> None:
    """A consumer not bound to the manifest gets ops-risk-raised accepted: that check fails."""
    async with hub_on(create_app(hub_config()), key=UNBOUND_KEY) as hub:
        report = await run_smoke(hub, AGGREGATES)
    assert not report.ok
    assert [c.event_type for c in report.checks if not c.ok] == [UNDECLARED_TYPE]
    assert "does not enforce" in report.checks[-1].detail


async def test_an_unmapped_type_fails_without_sending(hub_on: HubOn) -> None:
    """A type with no widget in the mapping is a failed check that says to seed widgets."""
    mapping = WidgetMapping.model_validate(
        {"event_types": {"ops-endpoint-verified": "widget-ops-endpoint-verified"}}
    )
    async with hub_on(create_app(hub_config())) as hub:
        report = await run_smoke(hub, mapping)
    missing = [c for c in report.checks if c.sent is None]
    assert len(missing) == len(EVENT_TYPES) - 1
    assert all("seed-widgets" in c.detail for c in missing)
    assert report.checks[-1].ok


def test_pick_widget_prefers_aggregate_then_inventory_entity() -> None:
    """Aggregate widgets take smoke first; else the first inventory entity with a widget."""
    mapping = WidgetMapping.model_validate(
        {
            "entities": {"endpoint:b": "wb", "endpoint:a": "wa"},
            "event_types": {"ops-backup-verified": "agg"},
        }
    )
    assert pick_widget("ops-backup-verified", mapping, []) == ("backup:smoke", "agg")
    assert pick_widget("ops-endpoint-verified", mapping, ["x", "b"]) == ("endpoint:b", "wb")
    assert pick_widget("ops-endpoint-verified", mapping, []) == ("endpoint:a", "wa")
    assert pick_widget("ops-service-observed", mapping, []) is None


@pytest.mark.parametrize("event_type", event_types())
def test_every_registered_type_has_a_smoke_sample(event_type: str) -> None:
    """Adding an event type needs a smoke sample (its model's `SAMPLE_ATTRIBUTES`): each
    registered type builds a valid event from it, the sample's attributes set."""
    event = smoke_event(event_type, f"{EVENT_TYPES[event_type].prefix}:smoke", "run-1")
    assert set(event_model(event_type).SAMPLE_ATTRIBUTES) <= event.attributes.model_fields_set
    assert event.attributes.reason == "smoke_test"


async def test_a_refused_key_fails_every_check(hub_on: HubOn) -> None:
    """With a revoked key nothing is accepted: every declared check says the key was refused."""
    async with hub_on(create_app(hub_config()), key=REVOKED_KEY) as hub:
        report = await run_smoke(hub, AGGREGATES)
    assert not any(c.ok for c in report.checks)
    assert all(c.detail.startswith("key refused") for c in report.checks[: len(EVENT_TYPES)])
    assert REVOKED_KEY not in str(report.as_json())

"""Adding an event type takes the two edits docs/operations.md names ("Adding an event
type"): `tests/risk_raised.py` makes exactly those (a model and its row in the table of
event types; a probe and its row in `PROBES`) for `ops-risk-raised`, and the type is then
planned, probed, has a schema (and a smoke sample) and is routed, with no other code
told about it."""

from __future__ import annotations

import json
import random

import jsonschema
import pytest

from ops_evidence.config.settings import load_settings
from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.delivery.router import Router
from ops_evidence.events.registry import event_model, parse_event
from ops_evidence.events.schemas import event_schema
from ops_evidence.inventory.models import Inventory
from ops_evidence.probes import ProbeContext, derived, plan
from ops_evidence.rollout.smoke_events import smoke_event
from ops_evidence.schedule.probe_jobs import build_jobs
from tests.probes.inventories import inventory
from tests.risk_raised import RISK_RAISED, RiskRaised, add_risk_raised

pytestmark = pytest.mark.anyio


@pytest.fixture
def risk_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ops-risk-raised` registered for one test, through the two edits alone."""
    add_risk_raised(monkeypatch)


def _inventory() -> Inventory:
    backup = {
        "id": "gitea-db",
        "environment": "local",
        "store": "gitea-pg",
        "view_context": "ops/backups",
        "check": {"kind": "files", "path": "/nonexistent"},
    }
    return inventory(backups=[backup])


def test_the_new_type_is_planned(risk_raised: None) -> None:
    """The plan and the scheduler's jobs include a target of the new type for each entry of
    its section, with the entry's schedule and view context, before the derived targets."""
    inv = _inventory()
    assert inv.probe_targets()[RISK_RAISED] == ["gitea-db"]
    targets = plan(inv)
    [target] = [t for t in targets if t.event_type == RISK_RAISED]
    assert (target.context_key, target.environment) == ("risk:gitea-db", "local")
    assert target.interval == inv.defaults.interval
    assert targets.index(target) < targets.index(next(t for t in targets if derived(t.event_type)))
    [job] = [j for j in build_jobs(inv) if j.event_type == RISK_RAISED]
    assert (job.key, job.view_context, job.after_observations) == (
        "risk:gitea-db",
        "ops/backups",
        False,
    )


async def test_the_new_type_is_probed(risk_raised: None) -> None:
    """Its job runs its probe, which yields an event of the new type, recorded for drift
    and the gates like any other observation."""
    inv = _inventory()
    ctx = ProbeContext(inv)
    [job] = [j for j in build_jobs(inv, ctx) if j.event_type == RISK_RAISED]
    event = await job.run()
    assert isinstance(event, RiskRaised)
    assert (event.event_type, event.context_key) == (RISK_RAISED, "risk:gitea-db")
    assert (event.attributes.store, event.attributes.verified) == ("gitea-pg", True)
    assert ctx.observations.latest("risk:gitea-db") == event


async def test_the_new_type_has_a_schema(risk_raised: None) -> None:
    """Its JSON Schema comes from its model, and a probed event (stored and read back as
    the outbox does) validates against it."""
    inv = _inventory()
    [job] = [j for j in build_jobs(inv) if j.event_type == RISK_RAISED]
    stored = json.loads((await job.run()).model_dump_json())
    schema = event_schema(RISK_RAISED)
    assert schema["title"] == RISK_RAISED
    assert schema["$id"].endswith("/event-types/ops-risk-raised.schema.json")
    jsonschema.validate(stored, schema)
    assert event_model(RISK_RAISED) is RiskRaised
    assert isinstance(parse_event(stored), RiskRaised)


def test_the_new_type_has_a_smoke_sample(risk_raised: None) -> None:
    """`smoke` can post it: its model's sample builds a valid smoke event."""
    event = smoke_event(RISK_RAISED, "risk:smoke", "run-1")
    assert isinstance(event, RiskRaised)
    assert (event.attributes.backup, event.attributes.reason) == ("smoke", "smoke_test")


async def test_the_new_type_is_routed(risk_raised: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The widget mapping accepts the new type's name, and the router plans one Inter-Hub
    delivery of its event to the type's aggregate widget, with the entity's view context."""
    monkeypatch.setenv("INTER_HUB_URL", "https://hub.test")
    monkeypatch.setenv("OPS_HUB_KEY", "k-0123456789")
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", '{"event_types": {"ops-risk-raised": "w-rt"}}')
    router = Router(load_settings(), RetryPolicy(), random.Random(1), clock=lambda: 1000.0)
    inv = _inventory()
    [job] = [j for j in build_jobs(inv) if j.event_type == RISK_RAISED]
    stored, [delivery] = router.plan(await job.run(), job.view_context)
    assert (stored.event_type, delivery.sink, delivery.widget_id) == (
        RISK_RAISED,
        "inter-hub",
        "w-rt",
    )
    body = json.loads(delivery.body or b"")
    assert (body["eventType"], body["widgetId"], body["viewContext"]) == (
        RISK_RAISED,
        "w-rt",
        "ops/backups",
    )

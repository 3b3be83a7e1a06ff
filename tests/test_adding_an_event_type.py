"""Adding an event type takes the two edits docs/operations.md names ("Adding an event
type"): `tests/restore_tested.py` makes exactly those (a model and its row in the table of
event types; a probe and its row in `PROBES`) for `ops-restore-tested`, and the type is then
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
from tests.restore_tested import RESTORE_TESTED, RestoreTested, add_restore_tested

pytestmark = pytest.mark.anyio


@pytest.fixture
def restore_tested(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ops-restore-tested` registered for one test, through the two edits alone."""
    add_restore_tested(monkeypatch)


def _inventory() -> Inventory:
    backup = {
        "id": "gitea-db",
        "environment": "local",
        "store": "gitea-pg",
        "view_context": "ops/backups",
        "check": {"kind": "files", "path": "/nonexistent"},
    }
    return inventory(backups=[backup])


def test_the_new_type_is_planned(restore_tested: None) -> None:
    """The plan and the scheduler's jobs include a target of the new type for each entry of
    its section, with the entry's schedule and view context, before the derived targets."""
    inv = _inventory()
    assert inv.probe_targets()[RESTORE_TESTED] == ["gitea-db"]
    targets = plan(inv)
    [target] = [t for t in targets if t.event_type == RESTORE_TESTED]
    assert (target.context_key, target.environment) == ("restore:gitea-db", "local")
    assert target.interval == inv.defaults.interval
    assert targets.index(target) < targets.index(next(t for t in targets if derived(t.event_type)))
    [job] = [j for j in build_jobs(inv) if j.event_type == RESTORE_TESTED]
    assert (job.key, job.view_context, job.after_observations) == (
        "restore:gitea-db",
        "ops/backups",
        False,
    )


async def test_the_new_type_is_probed(restore_tested: None) -> None:
    """Its job runs its probe, which yields an event of the new type, recorded for drift
    and the gates like any other observation."""
    inv = _inventory()
    ctx = ProbeContext(inv)
    [job] = [j for j in build_jobs(inv, ctx) if j.event_type == RESTORE_TESTED]
    event = await job.run()
    assert isinstance(event, RestoreTested)
    assert (event.event_type, event.context_key) == (RESTORE_TESTED, "restore:gitea-db")
    assert (event.attributes.store, event.attributes.verified) == ("gitea-pg", True)
    assert ctx.observations.latest("restore:gitea-db") == event


async def test_the_new_type_has_a_schema(restore_tested: None) -> None:
    """Its JSON Schema comes from its model, and a probed event (stored and read back as
    the outbox does) validates against it."""
    inv = _inventory()
    [job] = [j for j in build_jobs(inv) if j.event_type == RESTORE_TESTED]
    stored = json.loads((await job.run()).model_dump_json())
    schema = event_schema(RESTORE_TESTED)
    assert schema["title"] == RESTORE_TESTED
    assert schema["$id"].endswith("/event-types/ops-restore-tested.schema.json")
    jsonschema.validate(stored, schema)
    assert event_model(RESTORE_TESTED) is RestoreTested
    assert isinstance(parse_event(stored), RestoreTested)


def test_the_new_type_has_a_smoke_sample(restore_tested: None) -> None:
    """`smoke` can post it: its model's sample builds a valid smoke event."""
    event = smoke_event(RESTORE_TESTED, "restore:smoke", "run-1")
    assert isinstance(event, RestoreTested)
    assert (event.attributes.backup, event.attributes.reason) == ("smoke", "smoke_test")


async def test_the_new_type_is_routed(
    restore_tested: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The widget mapping accepts the new type's name, and the router plans one Inter-Hub
    delivery of its event to the type's aggregate widget, with the entity's view context."""
    monkeypatch.setenv("INTER_HUB_URL", "https://hub.test")
    monkeypatch.setenv("OPS_HUB_KEY", "k-0123456789")
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", '{"event_types": {"ops-restore-tested": "w-rt"}}')
    router = Router(load_settings(), RetryPolicy(), random.Random(1), clock=lambda: 1000.0)
    inv = _inventory()
    [job] = [j for j in build_jobs(inv) if j.event_type == RESTORE_TESTED]
    stored, [delivery] = router.plan(await job.run(), job.view_context)
    assert (stored.event_type, delivery.sink, delivery.widget_id) == (
        RESTORE_TESTED,
        "inter-hub",
        "w-rt",
    )
    body = json.loads(delivery.body or b"")
    assert (body["eventType"], body["widgetId"], body["viewContext"]) == (
        RESTORE_TESTED,
        "w-rt",
        "ops/backups",
    )

"""The probe registry and the plan the scheduler runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ops_evidence.checks.base import Failure
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.registry import event_types
from ops_evidence.events.types import ServiceObserved
from ops_evidence.inventory import load_inventory
from ops_evidence.probes import ProbeContext, ProbeTarget, derived, plan, probes, run_probe
from ops_evidence.probes.registry import PROBES, ProbeSpec
from tests.conftest import EXAMPLE_INVENTORY
from tests.probes.inventories import inventory

pytestmark = pytest.mark.anyio


def test_every_event_type_has_a_probe() -> None:
    """Each published event type has exactly one registered probe."""
    assert set(probes()) == set(event_types())


def test_plan_of_the_example_inventory() -> None:
    """The plan lists every entity once, with schedules and environments, derived probes
    (drift, then the gates, which belong to no environment) last."""
    inv = load_inventory(EXAMPLE_INVENTORY)
    targets = plan(inv)
    keys = [t.context_key for t in targets]
    assert len(keys) == len(set(keys))
    assert "endpoint:gitea-registry" in keys
    assert "environment:coulombcore" in keys
    registry = next(t for t in targets if t.context_key == "endpoint:gitea-registry")
    assert registry.environment == "coulombcore"
    assert registry.timeout.total_seconds() == 10
    assert registry.interval.total_seconds() == 300
    derived_positions = [i for i, t in enumerate(targets) if derived(t.event_type)]
    assert derived_positions == list(range(len(targets) - len(derived_positions), len(targets)))
    gates = [t for t in targets if t.event_type == "ops-readiness-gate-updated"]
    assert [t.context_key for t in gates][:2] == ["gate:OPS-G01", "gate:OPS-G02"]
    assert len(gates) == 15
    assert {t.environment for t in gates} == {None}


async def test_a_crashing_probe_becomes_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe that raises is turned into a `probe_error` event, and recorded."""
    spec = probes()["ops-service-observed"]

    async def crash(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
        raise RuntimeError("boom password=hunter2hunter2")

    monkeypatch.setitem(PROBES, "ops-service-observed", ProbeSpec(crash, spec.on_failure))
    inv = inventory(
        services=[
            {
                "id": "api",
                "environment": "local",
                "check": {"kind": "tcp", "host": "127.0.0.1", "port": 1},
            }
        ]
    )
    ctx = ProbeContext(inv)
    target = next(t for t in plan(inv) if t.context_key == "service:api")
    event = await run_probe(ctx, target)
    assert isinstance(event, ServiceObserved)
    assert event.attributes.reason == "probe_error"
    assert "hunter2" not in event.model_dump_json()
    assert ctx.observations.latest("service:api") == event


async def test_a_hanging_probe_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe past its timeout (plus grace) is cut off as `timeout`."""
    import anyio

    spec = probes()["ops-service-observed"]

    async def hang(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
        await anyio.sleep(60)
        raise AssertionError

    monkeypatch.setitem(PROBES, "ops-service-observed", ProbeSpec(hang, spec.on_failure))
    monkeypatch.setattr("ops_evidence.probes.registry._BACKSTOP_GRACE", 0.0)
    inv = inventory(
        services=[
            {
                "id": "api",
                "environment": "local",
                "timeout": "100ms",
                "check": {"kind": "tcp", "host": "127.0.0.1", "port": 1},
            }
        ]
    )
    event = await run_probe(ProbeContext(inv), plan(inv)[0])
    assert event.attributes.reason == "timeout"


def test_failure_helper_redacts() -> None:
    """Failure messages are redacted when made."""
    assert "s3cr3t-value" not in Failure.of("x", "token=s3cr3t-value").message


def test_the_plan_loads_no_probe() -> None:
    """The plan and the rollout outcomes (what `validate`, `seed-widgets` and `smoke` reach
    in `probes/`) load neither a probe module nor the event models: the registry's names
    load on first use."""
    code = (
        "import sys\n"
        "import ops_evidence.probes.readiness.rollout_outcomes\n"
        "from ops_evidence.probes import plan, find_target\n"
        "print(sorted(m for m in sys.modules if m.startswith('ops_evidence.')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = run.stdout
    assert "ops_evidence.probes.plan" in loaded
    heavy = ("probes.registry", "probes.service_observed", "probes.readiness.probe", "events.types")
    for name in heavy:
        assert f"'ops_evidence.{name}'" not in loaded

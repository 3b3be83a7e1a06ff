"""`ops-evidence smoke` as an operator runs it: seven checks, what was sent, exit codes."""

from __future__ import annotations

import json

from ops_evidence.emulator.config import ManifestConfig
from ops_evidence.events.vocabulary import EVENT_TYPES
from tests.cli.rollout_support import CANARY, canary_hub, hub_env
from tests.support import run_cli


def test_smoke_passes_on_the_ops_hub() -> None:
    """All seven checks pass: exit 0, each request and answer printed, the key never."""
    with canary_hub() as base_url:
        result = run_cli(["smoke"], hub_env(base_url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"smoke all {len(EVENT_TYPES) + 1} checks passed" in result.stdout
    assert result.stdout.count("  sent: ") == len(EVENT_TYPES) + 1
    assert "event_type_not_declared" in result.stdout
    assert CANARY not in result.stdout + result.stderr


def test_smoke_fails_and_names_the_undeclared_manifest_type() -> None:
    """On a hub whose manifest lacks ops-endpoint-verified: exit 1, that type named as failed."""
    manifest = ManifestConfig(
        event_types=tuple(t for t in EVENT_TYPES if t != "ops-endpoint-verified")
    )
    with canary_hub(manifest=manifest) as base_url:
        result = run_cli(["smoke", "--json"], hub_env(base_url))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [c["event_type"] for c in report["checks"] if not c["ok"]] == ["ops-endpoint-verified"]
    assert CANARY not in result.stdout + result.stderr


def test_smoke_without_a_mapping_exits_78() -> None:
    """No OPS_HUB_WIDGET_MAPPING: nothing is sent, exit 78 saying to run seed-widgets."""
    with canary_hub() as base_url:
        result = run_cli(["smoke"], hub_env(base_url, mapping=None))
    assert result.returncode == 78
    assert "seed-widgets" in result.stderr
    assert "OPS_HUB_WIDGET_MAPPING is not set" in result.stderr
    assert "INTER_HUB_URL is not set" not in result.stderr  # only what is actually missing


def test_smoke_with_nothing_configured_names_every_variable() -> None:
    """Nothing set: one error listing all three Inter-Hub variables, exit 78."""
    result = run_cli(["smoke"])
    assert result.returncode == 78
    for variable in ("INTER_HUB_URL", "OPS_HUB_KEY", "OPS_HUB_WIDGET_MAPPING"):
        assert f"{variable} is not set" in result.stderr

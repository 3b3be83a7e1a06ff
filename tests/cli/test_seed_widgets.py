"""`ops-evidence seed-widgets` as an operator runs it: dry run, create, re-run, the mapping."""

from __future__ import annotations

import json

from ops_evidence.config.widget_mapping import parse_widget_mapping
from ops_evidence.events.vocabulary import EVENT_TYPES
from tests.cli.rollout_support import CANARY, canary_hub, hub_env
from tests.conftest import REPO
from tests.support import run_cli

INVENTORY = str(REPO / "tests" / "data" / "valid-minimal.yaml")


def test_dry_run_then_create_then_nothing_left_to_create() -> None:
    """Dry run creates nothing; the real run creates 3 entity + 15 gate widgets; a second run
    creates 0, same mapping."""
    args = ["seed-widgets", "--inventory", INVENTORY]
    with canary_hub() as base_url:
        env = hub_env(base_url, mapping=None)
        dry = run_cli([*args, "--dry-run"], env)
        first = run_cli([*args, "--json"], env)
        second = run_cli([*args, "--json"], env)
    assert dry.returncode == 0, dry.stderr
    assert f"18 would create, {len(EVENT_TYPES)} existing" in dry.stdout
    first_report, second_report = json.loads(first.stdout), json.loads(second.stdout)
    assert [w["action"] for w in first_report["widgets"]].count("created") == 18
    assert {w["action"] for w in second_report["widgets"]} == {"exists"}
    assert first_report["mapping"] == second_report["mapping"]
    mapping = parse_widget_mapping(json.dumps(second_report["mapping"]))
    assert mapping.widget_for("ops-endpoint-verified", "endpoint:web-root") is not None
    for result in (dry, first, second):
        assert CANARY not in result.stdout + result.stderr


def test_aggregate_only_prints_a_pasteable_mapping() -> None:
    """--aggregate needs no inventory; the last line is the mapping JSON, valid as a setting."""
    with canary_hub() as base_url:
        result = run_cli(["seed-widgets", "--aggregate"], hub_env(base_url, mapping=None))
    assert result.returncode == 0, result.stderr
    mapping = parse_widget_mapping(result.stdout.strip().splitlines()[-1])
    assert mapping.entities == {}
    assert len(mapping.event_types) == len(EVENT_TYPES)

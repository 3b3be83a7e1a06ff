"""`ops-evidence gate-probe` as an operator runs it: table, JSON, exit codes, no key shown."""

from __future__ import annotations

import json

from tests.cli.rollout_support import CANARY, canary_hub, hub_env
from tests.support import run_cli


def test_live_hub_exits_0_with_a_gate_table() -> None:
    """Against the emulator with mapped seed widgets the gate is open: exit 0, table printed."""
    with canary_hub() as base_url:
        result = run_cli(["gate-probe"], hub_env(base_url))
    assert result.returncode == 0, result.stderr
    assert "endpoint /api/v2/hubs" in result.stdout
    assert "submission can go live" in result.stdout
    assert CANARY not in result.stdout + result.stderr


def test_json_report_and_closed_gate_exit_1() -> None:
    """A mapped widget that does not exist closes the gate: exit 1, JSON names it."""
    mapping = json.dumps({"event_types": {"ops-endpoint-verified": "widget-missing"}})
    with canary_hub() as base_url:
        result = run_cli(["gate-probe", "--json"], hub_env(base_url, mapping))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["live"] is False
    assert report["missing_widgets"] == ["widget-missing"]
    assert CANARY not in result.stdout + result.stderr


def test_unreachable_hub_exits_69_without_traceback() -> None:
    """Nothing listening at INTER_HUB_URL: exit 69, one message, no traceback, no key."""
    result = run_cli(["gate-probe"], hub_env("http://127.0.0.1:9"))
    assert result.returncode == 69
    assert "unreachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert CANARY not in result.stdout + result.stderr


def test_missing_config_exits_78() -> None:
    """Without INTER_HUB_URL and OPS_HUB_KEY the probe cannot start: exit 78 naming both."""
    result = run_cli(["gate-probe"])
    assert result.returncode == 78
    assert "INTER_HUB_URL is not set" in result.stderr
    assert "OPS_HUB_KEY is not set" in result.stderr


def test_key_over_plain_http_to_a_remote_host_exits_78() -> None:
    """http:// to a non-loopback host is refused before any request carries the key."""
    result = run_cli(["gate-probe"], hub_env("http://hub.example.invalid"))
    assert result.returncode == 78
    assert "plain http" in result.stderr
    assert CANARY not in result.stdout + result.stderr

"""Routing decisions: Inter-Hub only when fully configured and mapped; a reason otherwise."""

from __future__ import annotations

import pytest

from ops_evidence.config.settings import load_settings
from ops_evidence.delivery.first_sink import route_for

MAPPING = (
    '{"entities": {"endpoint:reg": "w-reg"}, "event_types": {"ops-endpoint-verified": "w-agg"}}'
)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """All three Inter-Hub variables set."""
    monkeypatch.setenv("INTER_HUB_URL", "https://hub.example.test")
    monkeypatch.setenv("OPS_HUB_KEY", "k-123456789")
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", MAPPING)


def test_unconfigured_falls_back() -> None:
    """Without URL and key, events go to State Hub as missing_inter_hub_config."""
    route = route_for(load_settings(), "ops-endpoint-verified", "endpoint:reg")
    assert (route.sink, route.status) == ("state-hub", "missing_inter_hub_config")


def test_per_entity_wins(configured: None) -> None:
    """A per-entity widget beats the aggregate one."""
    settings = load_settings()
    assert route_for(settings, "ops-endpoint-verified", "endpoint:reg").widget_id == "w-reg"
    assert route_for(settings, "ops-endpoint-verified", "endpoint:other").widget_id == "w-agg"


def test_unmapped_event_is_not_dropped(configured: None) -> None:
    """An event without any widget goes to State Hub as missing_widget_mapping."""
    route = route_for(load_settings(), "ops-backup-verified", "backup:db")
    assert (route.sink, route.status) == ("state-hub", "missing_widget_mapping")


def test_submission_switched_off(configured: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """OPS_EVIDENCE_INTER_HUB_SUBMIT=false defers Inter-Hub."""
    monkeypatch.setenv("OPS_EVIDENCE_INTER_HUB_SUBMIT", "false")
    route = route_for(load_settings(), "ops-endpoint-verified", "endpoint:reg")
    assert route.status == "inter_hub_sink_deferred"


def test_forced_sinks(configured: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """OPS_EVIDENCE_SINK forces stdout or State Hub."""
    monkeypatch.setenv("OPS_EVIDENCE_SINK", "stdout")
    assert route_for(load_settings(), "ops-endpoint-verified", "endpoint:reg").sink == "stdout"
    monkeypatch.setenv("OPS_EVIDENCE_SINK", "state-hub-progress")
    assert route_for(load_settings(), "ops-endpoint-verified", "endpoint:reg").sink == "state-hub"


@pytest.mark.parametrize("sink", ["auto", "inter-hub"])
def test_submission_off_defers_whatever_sink_is_chosen(
    configured: None, monkeypatch: pytest.MonkeyPatch, sink: str
) -> None:
    """OPS_EVIDENCE_INTER_HUB_SUBMIT=false defers Inter-Hub with OPS_EVIDENCE_SINK=auto and
    with OPS_EVIDENCE_SINK=inter-hub alike: submission off means nothing is posted."""
    monkeypatch.setenv("OPS_EVIDENCE_SINK", sink)
    monkeypatch.setenv("OPS_EVIDENCE_INTER_HUB_SUBMIT", "false")
    route = route_for(load_settings(), "ops-endpoint-verified", "endpoint:reg")
    assert (route.sink, route.status) == ("state-hub", "inter_hub_sink_deferred")
    assert route.reason == "OPS_EVIDENCE_INTER_HUB_SUBMIT"

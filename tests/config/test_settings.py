"""Settings from the environment: defaults, parsing, and errors that name the variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops_evidence.config.settings import load_settings
from ops_evidence.errors import ConfigError

CANARY = "canary-ops-hub-key-7f3a9"


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing set, Inter-Hub is unconfigured and the sink is auto."""
    settings = load_settings()
    assert settings.sink == "auto"
    assert settings.inter_hub_missing() == [
        "INTER_HUB_URL",
        "OPS_HUB_KEY",
        "OPS_HUB_WIDGET_MAPPING",
    ]


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The k8s placeholders ship present-but-empty; that is 'not configured', not an error."""
    for name in ("INTER_HUB_URL", "OPS_HUB_KEY", "OPS_HUB_WIDGET_MAPPING"):
        monkeypatch.setenv(name, "")
    assert len(load_settings().inter_hub_missing()) == 3


def test_mapping_inline_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """OPS_HUB_WIDGET_MAPPING is inline JSON when it starts with `{`, else a file path."""
    mapping = {
        "entities": {"endpoint:gitea-registry": "w-1"},
        "event_types": {"ops-backup-verified": "w-2"},
    }
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", json.dumps(mapping))
    inline = load_settings().widget_mapping
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping))
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", str(path))
    from_file = load_settings().widget_mapping
    assert inline == from_file
    assert inline is not None
    assert inline.widget_for("ops-endpoint-verified", "endpoint:gitea-registry") == "w-1"
    assert inline.widget_for("ops-backup-verified", "backup:x") == "w-2"
    assert inline.widget_for("ops-service-observed", "service:x") is None


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("OPS_HUB_WIDGET_MAPPING", "{not json", "OPS_HUB_WIDGET_MAPPING: inline JSON is not valid JSON"),
        ("OPS_HUB_WIDGET_MAPPING", '{"widgets": {}}', "OPS_HUB_WIDGET_MAPPING: inline JSON: widgets: unknown field"),
        ("OPS_HUB_WIDGET_MAPPING", '{"event_types": {"ops-nope": "w"}}', "OPS_HUB_WIDGET_MAPPING: inline JSON: event_types.ops-nope"),
        ("OPS_HUB_WIDGET_MAPPING", "/no/such/mapping.json", "OPS_HUB_WIDGET_MAPPING: not inline JSON"),
        ("INTER_HUB_URL", "not a url", "INTER_HUB_URL: Input should be a valid URL"),
        ("OPS_EVIDENCE_SINK", "kafka", "OPS_EVIDENCE_SINK: Input should be 'auto'"),
        ("OPS_EVIDENCE_LISTEN", "9108", "OPS_EVIDENCE_LISTEN: must be HOST:PORT"),
        ("OPS_EVIDENCE_OUTBOX_RETENTION", "forever", "OPS_EVIDENCE_OUTBOX_RETENTION: 'forever' is not a duration"),
        ("OPS_EVIDENCE_INTER_HUB_AUTH_HEADER", "Bad Header", "OPS_EVIDENCE_INTER_HUB_AUTH_HEADER: must be an HTTP token"),
        ("OPS_EVIDENCE_INTER_HUB_AUTH_SCHEME", "Bearer\n", "OPS_EVIDENCE_INTER_HUB_AUTH_SCHEME: must be an HTTP token"),
    ],
)  # fmt: skip
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    """Each bad value gives one problem line that names the variable; exit code 78."""
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("OPS_HUB_KEY", CANARY)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in caught.value.render()
    assert caught.value.exit_code == 78
    assert CANARY not in caught.value.render()


def test_key_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is a SecretStr: repr and dumps do not show it."""
    monkeypatch.setenv("OPS_HUB_KEY", CANARY)
    settings = load_settings()
    assert CANARY not in repr(settings)
    assert CANARY not in settings.model_dump_json()
    assert settings.ops_hub_key is not None
    assert settings.ops_hub_key.get_secret_value() == CANARY


def test_key_loses_a_trailing_newline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key read from a file (`--from-file`) keeps its final newline: it is dropped, since
    it cannot travel in a header and would crash every delivery."""
    monkeypatch.setenv("OPS_HUB_KEY", f"  {CANARY}\n")
    settings = load_settings()
    assert settings.ops_hub_key is not None
    assert settings.ops_hub_key.get_secret_value() == CANARY


@pytest.mark.parametrize("inside", ["\n", " ", "\x01", "\u00e9"])
def test_key_with_inner_space_or_control_is_refused_unechoed(
    monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    """A key that could not be sent in a header is a configuration error (78) that names the
    variable and never shows the value."""
    monkeypatch.setenv("OPS_HUB_KEY", f"{CANARY}{inside}tail")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "OPS_HUB_KEY: contains spaces or control characters" in caught.value.render()
    assert caught.value.exit_code == 78
    assert CANARY not in caught.value.render()

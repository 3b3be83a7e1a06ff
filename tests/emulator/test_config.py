"""Emulator configuration: the default ops hub, files, and keys that never live in them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ops_evidence.emulator import create_app
from ops_evidence.emulator.config import EmulatorConfig, load_config, resolve_keys
from ops_evidence.errors import ConfigError
from ops_evidence.events.vocabulary import (
    ANNOTATION_CATEGORY,
    EVENT_TYPES,
    POLICY_SCOPE,
    WIDGET_TYPES,
)
from tests.support import REPO


def test_default_is_the_ops_hub_vocabulary() -> None:
    """The default manifest declares the vocabulary module's types, scope and category."""
    manifest = EmulatorConfig().manifest
    assert (manifest.name, manifest.active) == ("ops-hub", True)
    assert manifest.event_types == tuple(EVENT_TYPES)
    assert manifest.widget_types == WIDGET_TYPES
    assert manifest.policy_scopes == (POLICY_SCOPE,)
    assert manifest.annotation_categories == (ANNOTATION_CATEGORY,)
    registry = EmulatorConfig().registry
    assert set(EVENT_TYPES) < set(registry.event_types)
    assert "internal" in registry.policy_scopes


def test_yaml_file_with_key_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A YAML file configures consumers; a key named by key_env is read from the environment."""
    path = tmp_path / "emulator.yaml"
    path.write_text(
        "hub_id: lab\nconsumers:\n  - {name: a, key_env: LAB_KEY}\n"
        "faults: {seed: 3, error_rates: {503: 0.5}}\n"
    )
    monkeypatch.setenv("LAB_KEY", "from-env")
    config, generated = resolve_keys(load_config(path))
    assert config.hub_id == "lab"
    assert config.faults.error_rates == {503: 0.5}
    assert config.consumers[0].key is not None
    assert config.consumers[0].key.get_secret_value() == "from-env"
    assert generated == []


def test_json_file_with_key_file(tmp_path: Path) -> None:
    """A JSON file works too; an existing key_file supplies the key."""
    (tmp_path / "key").write_text("from-file\n")
    path = tmp_path / "emulator.json"
    path.write_text(json.dumps({"consumers": [{"name": "a", "key_file": str(tmp_path / "key")}]}))
    config, _ = resolve_keys(load_config(path))
    assert config.consumers[0].key is not None
    assert config.consumers[0].key.get_secret_value() == "from-file"


def test_generated_key_is_written_owner_only(tmp_path: Path) -> None:
    """A consumer without a key gets a random one, written to its key_file with mode 0600."""
    key_file = tmp_path / "sub" / "ops-hub.key"
    config = EmulatorConfig.model_validate(
        {"consumers": [{"name": "a", "key_file": str(key_file)}]}
    )
    resolved, generated = resolve_keys(config)
    assert [c.name for c in generated] == ["a"]
    key = resolved.consumers[0].key
    assert key is not None
    assert len(key.get_secret_value()) >= 32
    assert key_file.read_text().strip() == key.get_secret_value()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again, _ = resolve_keys(config)
    assert again.consumers[0].key == key


def test_missing_env_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """key_env naming an unset variable is a ConfigError naming the consumer and variable."""
    monkeypatch.delenv("NOPE_KEY", raising=False)
    config = EmulatorConfig.model_validate({"consumers": [{"name": "a", "key_env": "NOPE_KEY"}]})
    with pytest.raises(ConfigError, match="consumer a: NOPE_KEY"):
        resolve_keys(config)


def test_invalid_file_names_file_and_field(tmp_path: Path) -> None:
    """Unknown keys and bad values are reported with the file and the field path."""
    path = tmp_path / "bad.yaml"
    path.write_text("manifest: {colour: red}\nfaults: {error_rates: {404: 0.1}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    rendered = info.value.render()
    assert str(path) in rendered
    assert "manifest.colour" in rendered
    assert "faults.error_rates" in rendered


def test_shipped_example_config_loads() -> None:
    """examples/emulator.yaml is valid and declares the vocabulary's event types."""
    config = load_config(REPO / "examples" / "emulator.yaml")
    assert config.manifest.event_types == tuple(EVENT_TYPES)
    assert {c.name for c in config.consumers} == {
        "ops-evidence",
        "revoked-consumer",
        "smoke-unbound",
    }


def test_inline_key_in_a_file_is_refused(tmp_path: Path) -> None:
    """A config file may not carry a key itself, and the error does not echo it."""
    path = tmp_path / "emulator.yaml"
    path.write_text("consumers:\n  - {name: a, key: hunter2-inline-canary}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "consumers.0.key" in info.value.render()
    assert "hunter2-inline-canary" not in info.value.render()


def test_fault_rates_over_one_in_a_file_are_a_config_error(tmp_path: Path) -> None:
    """Fault probabilities adding up to more than 1 are reported like any bad value."""
    path = tmp_path / "emulator.yaml"
    path.write_text("faults: {error_rates: {500: 0.7}, reset_after_commit: 0.7}\n")
    with pytest.raises(ConfigError, match="invalid emulator config") as info:
        load_config(path)
    assert "more than 1" in info.value.render()


def test_consumer_names_must_be_unique() -> None:
    """Two consumers with one name are refused."""
    with pytest.raises(ValueError, match="unique"):
        EmulatorConfig.model_validate({"consumers": [{"name": "a"}, {"name": "a"}]})


def test_consumers_may_not_share_a_key() -> None:
    """Two consumers with the same key would make 403 vs 200 ambiguous: refused at startup."""
    config = EmulatorConfig.model_validate(
        {
            "consumers": [
                {"name": "a", "key": "same-key-1234"},
                {"name": "b", "key": "same-key-1234"},
            ]
        }
    )
    with pytest.raises(ValueError, match="consumer b shares its key"):
        create_app(config)

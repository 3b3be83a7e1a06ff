"""`ops-evidence manifest` as a user runs it: formats, exit codes, no settings needed."""

from __future__ import annotations

import json

import yaml

from ops_evidence.events.manifest import build_manifest
from tests.support import run_cli

CANARY = "canary-ops-hub-key-7c2aa"


def test_default_is_json_manifest() -> None:
    """Without --format the command prints the manifest as JSON and exits 0."""
    result = run_cli(["manifest"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == build_manifest()


def test_yaml_format() -> None:
    """--format yaml prints the same manifest as YAML."""
    result = run_cli(["manifest", "--format", "yaml"])
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == build_manifest()
    assert result.stdout.startswith("hub: ops-hub\n")


def test_unknown_format_is_a_usage_error() -> None:
    """An unsupported format exits 64 and names the choices."""
    result = run_cli(["manifest", "--format", "toml"])
    assert result.returncode == 64
    assert "invalid choice: 'toml'" in result.stderr


def test_bad_settings_do_not_matter_and_the_key_never_appears() -> None:
    """The manifest reads no settings: a broken variable is ignored, the key not printed."""
    result = run_cli(["manifest"], {"OPS_HUB_WIDGET_MAPPING": "{oops", "OPS_HUB_KEY": CANARY})
    assert result.returncode == 0, result.stderr
    assert CANARY not in result.stdout + result.stderr

"""Inventory loading: valid files load; every invalid file names file, line and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ops_evidence.errors import ConfigError
from ops_evidence.inventory import load_inventory
from tests.conftest import EXAMPLE_INVENTORY

DATA = Path(__file__).resolve().parent.parent / "data"

INVALID = [
    ("invalid-unknown-key.yaml", ":5: environments[0] (local).colour: unknown key"),
    (
        "invalid-dangling-reference.yaml",
        ":9: endpoints[0] (web-root).service: endpoint 'web-root' refers to unknown service 'webb'",
    ),
    ("invalid-inline-secret.yaml", ":11: backups[0] (db).check.password: inline secrets are not"),
    ("invalid-bad-duration.yaml", ":7: services[0] (web).interval: 'five minutes' is not a dur"),
    ("invalid-duplicate-id.yaml", ":4: environments[1] (local).id: duplicate id 'local'"),
    ("invalid-yaml-syntax.yaml", ":5:1: YAML syntax error"),
    ("invalid-url-credentials.yaml", ":10: endpoints[0] (web-root).url: credentials in a URL"),
    ("invalid-check-kind.yaml", ":7: access_paths[0] (ssh).check: Input tag 'telnet'"),
    ("invalid-gate-status.yaml", ":8: gates.OPS-G07.status: Input should be 'unknown', 'partial'"),
    ("invalid-unknown-gate.yaml", ":4: gates.OPS-G42: unknown gate 'OPS-G42'"),
    ("invalid-unknown-exemption.yaml", ":8: exemptions.OPS-G77: unknown gate 'OPS-G77'"),
    ("invalid-exemption-no-owner.yaml", ":4: exemptions.OPS-G09.owner: Field required"),
]


@pytest.mark.parametrize(("name", "expected"), INVALID)
def test_invalid_inventory_names_file_line_and_key(name: str, expected: str) -> None:
    """Each invalid file raises ConfigError whose text contains path:line: key: message."""
    path = DATA / name
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    text = caught.value.render()
    assert f"{path}{expected}" in text
    assert caught.value.exit_code == 78


def test_inline_secret_value_is_not_echoed() -> None:
    """The rejected inline password never appears in the error."""
    with pytest.raises(ConfigError) as caught:
        load_inventory(DATA / "invalid-inline-secret.yaml")
    assert "hunter2-canary-inline" not in caught.value.render()


def test_url_credentials_not_echoed() -> None:
    """A password in a URL is reported without being repeated."""
    with pytest.raises(ConfigError) as caught:
        load_inventory(DATA / "invalid-url-credentials.yaml")
    assert "canary-pass-in-url" not in caught.value.render()


def test_missing_file() -> None:
    """A missing inventory is a ConfigError naming the path."""
    with pytest.raises(ConfigError, match=r"no-such\.yaml: cannot read inventory"):
        load_inventory(DATA / "no-such.yaml")


def test_example_inventory_reproduces_the_seed() -> None:
    """The shipped example holds the seeds' environments and the registry endpoint."""
    inventory = load_inventory(EXAMPLE_INVENTORY)
    assert [e.id for e in inventory.environments] == [
        "local",
        "coulombcore",
        "railiance01",
        "threephoenix-prod",
    ]
    registry = next(e for e in inventory.endpoints if e.id == "gitea-registry")
    assert registry.url == "https://gitea.coulomb.social/v2/"
    assert registry.expect.status == [401]
    assert registry.expect.headers == {"Docker-Distribution-Api-Version": "registry/2.0"}
    gitea = inventory.service("gitea")
    assert gitea is not None
    assert gitea.version == "1.25.4"


def test_defaults_fill_schedules() -> None:
    """Entities without a schedule inherit the inventory defaults."""
    inventory = load_inventory(DATA / "valid-minimal.yaml")
    schedule = inventory.schedule_of(inventory.services[0])
    assert schedule.interval == timedelta(minutes=5)
    assert schedule.heartbeat == timedelta(hours=1)


PER_ADDRESS = """version: 1
environments: [{id: local, role: test}]
services: [{id: web, environment: local}]
endpoints:
  - {id: web-root, service: web, url: "http://web.test/", %s}
"""


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("per_address: true, min_addresses: 0", "min_addresses: Input should be greater than"),
        ("min_addresses: 2", "min_addresses and resolver apply only with per_address: true"),
        ("resolver: 127.0.0.1", "min_addresses and resolver apply only with per_address: true"),
    ],
)
def test_per_address_settings_are_checked(tmp_path: Path, settings: str, expected: str) -> None:
    """`min_addresses` is at least 1, and it and `resolver` need `per_address: true`."""
    path = tmp_path / "inventory.yaml"
    path.write_text(PER_ADDRESS % settings)
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert expected in caught.value.render()


def test_per_address_settings_load(tmp_path: Path) -> None:
    """A per-address endpoint with a minimum and a resolver loads as written."""
    path = tmp_path / "inventory.yaml"
    path.write_text(PER_ADDRESS % "per_address: true, min_addresses: 2, resolver: '[::1]:53'")
    (endpoint,) = load_inventory(path).endpoints
    assert (endpoint.per_address, endpoint.min_addresses, endpoint.resolver) == (
        True,
        2,
        "[::1]:53",
    )

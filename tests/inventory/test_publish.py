"""The `publish:` block of an endpoint: what loads, and each refusal naming file, line, key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_evidence.errors import ConfigError
from ops_evidence.inventory import load_inventory
from ops_evidence.inventory.models import in_clear_text
from tests.conftest import EXAMPLE_INVENTORY

PUBLISH = """version: 1
environments: [{id: local, role: test}]
services: [{id: registry, environment: local}]
endpoints:
  - id: registry
    service: registry
    url: %s
    publish: {%s}
"""
GOOD = "repository: ops/scratch, username: ci, password: {env: REGISTRY_PASSWORD}"


def write(tmp_path: Path, url: str, publish: str) -> Path:
    """An inventory file with one endpoint declaring `publish`."""
    path = tmp_path / "inventory.yaml"
    path.write_text(PUBLISH % (url, publish))
    return path


def test_publish_block_loads(tmp_path: Path) -> None:
    """Repository, user and a password reference load; delete defaults to true."""
    (endpoint,) = load_inventory(write(tmp_path, "https://r.test/v2/", GOOD)).endpoints
    assert endpoint.publish is not None
    assert endpoint.publish.repository == "ops/scratch"
    assert endpoint.publish.password is not None
    assert endpoint.publish.password.env == "REGISTRY_PASSWORD"
    assert endpoint.publish.delete is True


@pytest.mark.parametrize(
    ("url", "publish", "expected"),
    [
        (
            "https://r.test/v2/",
            "repository: ops/scratch, username: ci, password: hunter2-canary",
            ":8: endpoints[0] (registry).publish.password: inline secrets are not allowed",
        ),
        (
            "https://r.test/v2/",
            "repository: Ops/Scratch",
            ":8: endpoints[0] (registry).publish.repository: String should match pattern",
        ),
        (
            "https://r.test/v2/",
            "username: ci",
            ":8: endpoints[0] (registry).publish.repository: Field required",
        ),
        (
            "https://r.test/v2/",
            "repository: ops/scratch, username: ci",
            "give `username` and `password` together, or neither",
        ),
        (
            "http://r.test/v2/",
            GOOD,
            "`publish` with a password needs an https:// URL (plain http only on loopback)",
        ),
        ("ftp://r.test/v2/", GOOD, ":7: endpoints[0] (registry).url: String should match"),
    ],
)
def test_bad_publish_blocks_are_refused(
    tmp_path: Path, url: str, publish: str, expected: str
) -> None:
    """An inline password, a repository that is no OCI name, a missing repository, a user
    without a password, a password over plain http, a URL that is not http(s): each refused
    with the file, line and key."""
    path = write(tmp_path, url, publish)
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    text = caught.value.render()
    assert expected in text
    assert "hunter2-canary" not in text


def test_plain_http_on_loopback_is_allowed(tmp_path: Path) -> None:
    """A test registry on 127.0.0.1 without TLS may take a password (it never leaves)."""
    (endpoint,) = load_inventory(write(tmp_path, "http://127.0.0.1:5000/v2/", GOOD)).endpoints
    assert endpoint.publish is not None


def test_example_declares_the_g05_publish() -> None:
    """The shipped example proves G05 with a publish on the Gitea registry, password by file."""
    inventory = load_inventory(EXAMPLE_INVENTORY)
    publishing = [e for e in inventory.endpoints if e.publish is not None]
    assert [e.id for e in publishing] == ["gitea-registry-publish"]
    (endpoint,) = publishing
    assert endpoint.url == "https://gitea.coulomb.social/v2/"
    assert endpoint.publish is not None
    assert endpoint.publish.password is not None
    assert endpoint.publish.password.file is not None
    assert "OPS-G05" not in inventory.gates


@pytest.mark.parametrize(
    ("url", "clear"),
    [
        ("http://r.test/v2/", True),
        ("HTTP://r.test/v2/", True),
        ("Http://r.test/v2/", True),
        ("https://r.test/v2/", False),
        ("HTTPS://r.test/v2/", False),
        ("http://127.0.0.1:5000/v2/", False),
        ("HTTP://localhost:5000/v2/", False),
    ],
)
def test_clear_text_is_judged_by_the_scheme_in_any_case(url: str, clear: bool) -> None:
    """URL schemes are case-insensitive: `HTTP://` to a remote host is clear text as much as
    `http://` (the `url` pattern refuses upper case today; this check does not lean on it)."""
    assert in_clear_text(url) is clear


def test_an_upper_case_http_url_with_a_password_is_refused(tmp_path: Path) -> None:
    """`HTTP://` with a password does not load, as `http://` does not."""
    with pytest.raises(ConfigError) as caught:
        load_inventory(write(tmp_path, "HTTP://r.test/v2/", GOOD))
    assert ":7: endpoints[0] (registry)" in caught.value.render()

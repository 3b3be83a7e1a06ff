"""`ops-evidence demo` on a fresh machine: events reach Inter-Hub, one type falls back."""

from __future__ import annotations

import re

import pytest

from tests.real_servers import free_port
from tests.support import run_cli


@pytest.mark.slow
def test_demo_shows_delivery_and_fallback() -> None:
    """The demo prints the status page, delivers four types to Inter-Hub and one to State Hub."""
    port = free_port()
    result = run_cli(["demo", "--duration", "10", "--listen", f"127.0.0.1:{port}"], timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"http://127.0.0.1:{port}/" in result.stdout
    for event_type in (
        "ops-service-observed",
        "ops-endpoint-verified",
        "ops-access-path-checked",
        "ops-inventory-drift",
    ):
        assert re.search(rf"Inter-Hub received \d+ x {event_type}", result.stdout)
    assert "State Hub fallback received ops-backup-verified" in result.stdout

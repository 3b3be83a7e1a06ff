"""The tcp check against real sshd (banner) and nginx (no banner)."""

from __future__ import annotations

import pytest

from ops_evidence.checks.tcp import check_tcp
from tests import real_servers as servers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def test_ssh_banner(sshd_port: int) -> None:
    """sshd's first line matches `^SSH-2\\.0-`."""
    result = await check_tcp("127.0.0.1", sshd_port, banner=r"^SSH-2\.0-", timeout=5)
    assert result.failure is None
    assert result.banner is not None
    assert result.banner.startswith("SSH-2.0-OpenSSH")


async def test_banner_mismatch(sshd_port: int) -> None:
    """A banner pattern that does not match is `banner_mismatch` with the banner seen."""
    result = await check_tcp("127.0.0.1", sshd_port, banner=r"^220 ", timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "banner_mismatch"


async def test_silent_server_has_no_banner(nginx: servers.Nginx) -> None:
    """An HTTP server says nothing first: waiting for a banner times out as `banner_timeout`."""
    result = await check_tcp("127.0.0.1", nginx.http, banner=r"^SSH-", timeout=0.5)
    assert result.failure is not None
    assert result.failure.reason == "banner_timeout"


async def test_connect_only(nginx: servers.Nginx) -> None:
    """Without a banner pattern, a connect is enough."""
    result = await check_tcp("127.0.0.1", nginx.http, banner=None, timeout=5)
    assert result.failure is None


async def test_refused() -> None:
    """Nothing listening is `connection_refused`."""
    result = await check_tcp("127.0.0.1", servers.free_port(), banner=None, timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "connection_refused"

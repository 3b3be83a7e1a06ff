"""The ssh host-key check against a real sshd on loopback: keys read through the key exchange
(fingerprints as `ssh-keygen` prints them), pins by fingerprint and by known_hosts file."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from ops_evidence.checks.ssh import check_host_keys, parse_keyscan
from tests import real_servers as servers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

LOOPBACK = servers.LOOPBACK


async def test_unpinned_reads_every_host_key(sshd: servers.Sshd) -> None:
    """Unpinned: both host keys are read and fingerprinted as ssh-keygen does; verified."""
    result = await check_host_keys(LOOPBACK, sshd.port, timeout=5)
    assert result.failure is None
    assert result.matched is None
    assert {k.fingerprint for k in result.keys} == {sshd.fingerprint(k) for k in sshd.public_keys}
    assert {k.type for k in result.keys} == {"ssh-ed25519", "ecdsa-sha2-nistp256"}


async def test_pinned_key_matches(sshd: servers.Sshd) -> None:
    """Pinning one of the server's keys (the ECDSA one, not the preferred ed25519) verifies."""
    pin = sshd.fingerprint(sshd.public_keys[1])
    result = await check_host_keys(LOOPBACK, sshd.port, host_key=[pin], timeout=5)
    assert result.failure is None
    assert result.matched is True
    assert result.expected == (pin,)


async def test_pinned_key_mismatch(sshd: servers.Sshd, tmp_path: Path) -> None:
    """A pin the server does not hold: `host_key_mismatch`, expected and observed kept."""
    pin = sshd.fingerprint(sshd.other_key(tmp_path))
    result = await check_host_keys(LOOPBACK, sshd.port, host_key=[pin], timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "host_key_mismatch"
    assert result.matched is False
    assert result.expected == (pin,)
    assert len(result.keys) == 2
    assert "expected" in result.failure.message
    assert "observed ecdsa-sha2-nistp256" in result.failure.message


async def test_known_hosts_matches(sshd: servers.Sshd, tmp_path: Path) -> None:
    """A known_hosts file holding the server's ed25519 key verifies."""
    path = sshd.known_hosts(tmp_path, sshd.public_keys[0])
    result = await check_host_keys(LOOPBACK, sshd.port, known_hosts=path, timeout=5)
    assert result.failure is None
    assert result.expected == (sshd.fingerprint(sshd.public_keys[0]),)


async def test_known_hosts_mismatch(sshd: servers.Sshd, tmp_path: Path) -> None:
    """A known_hosts file whose key for host:port the server does not hold: mismatch."""
    other = sshd.other_key(tmp_path)
    path = sshd.known_hosts(tmp_path, other)
    result = await check_host_keys(LOOPBACK, sshd.port, known_hosts=path, timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "host_key_mismatch"
    assert result.expected == (sshd.fingerprint(other),)


async def test_known_hosts_gone_at_probe_time(sshd: servers.Sshd, tmp_path: Path) -> None:
    """A known_hosts file removed after loading is a `config_error` naming it, not a probe
    of an unpinned server."""
    result = await check_host_keys(LOOPBACK, sshd.port, known_hosts=tmp_path / "removed", timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "config_error"
    assert "removed" in result.failure.message


async def test_nothing_listening() -> None:
    """No server: no key, `host_key_unavailable`."""
    result = await check_host_keys(LOOPBACK, servers.free_port(), timeout=2)
    assert result.failure is not None
    assert result.failure.reason == "host_key_unavailable"
    assert result.keys == ()


def test_keyscan_output_is_checked() -> None:
    """Comment lines, short lines and a base64 blob of another key type are not keys."""
    blob = "AAAAC3NzaC1lZDI1NTE5AAAAIOCk/HtDbukrISriWMRyjOItnj+txGHHndW5NrLAn6CA"
    out = f"# h:22 SSH-2.0-x\nh ssh-ed25519 {blob}\nh ssh-rsa {blob}\nh ssh-ed25519\n".encode()
    assert [k.type for k in parse_keyscan(out)] == ["ssh-ed25519"]


async def test_silent_server_is_bounded_by_the_timeout() -> None:
    """A listener that never speaks SSH: a failure within the timeout (plus process start),
    not a hang."""
    with socket.socket() as silent:
        silent.bind((LOOPBACK, 0))
        silent.listen()  # the kernel accepts the connection; nothing ever answers
        started = time.monotonic()
        result = await check_host_keys(LOOPBACK, silent.getsockname()[1], timeout=1.5)
    assert time.monotonic() - started < 5
    assert result.failure is not None
    assert result.failure.reason in {"host_key_unavailable", "timeout"}

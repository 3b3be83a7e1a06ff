"""An SSH server's host keys, read with OpenSSH's `ssh-keyscan`, and the pin they must match.

`ssh-keyscan` runs the real key exchange once per key type and stops there: it has no
authentication code, so a probe never offers a key or a password. Being OpenSSH, it offers
what the server's own clients offer (sntrup761/curve25519 key exchange, every key type the
server may hold) and follows OpenSSH's changes with the Debian package, not with us.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ops_evidence.checks.base import Failure
from ops_evidence.checks.subprocess import run_tool
from ops_evidence.inventory.host_keys import HostKey, parse_key, read_known_hosts

# One connection each; the server answers with the key of that type it holds (if any).
_KEY_TYPES = "ed25519,ecdsa,rsa"


@dataclass(frozen=True, slots=True)
class HostKeyResult:
    """The host keys the server proved it holds (sorted), the pins, and the verdict."""

    keys: tuple[HostKey, ...] = ()
    expected: tuple[str, ...] = ()
    matched: bool | None = None
    failure: Failure | None = None


def parse_keyscan(stdout: bytes) -> tuple[HostKey, ...]:
    """The keys of `ssh-keyscan` output (`HOST TYPE BASE64` lines); anything else is skipped."""
    keys = set()
    for line in stdout.decode("utf-8", "replace").splitlines():
        fields = line.split()
        if len(fields) >= 3 and not fields[0].startswith("#"):
            key = parse_key(fields[1], fields[2])
            if key is not None:
                keys.add(key)
    return tuple(sorted(keys, key=lambda k: (k.type, k.fingerprint)))


def expected_fingerprints(
    host: str, port: int, host_key: Sequence[str], known_hosts: Path | None
) -> tuple[str, ...]:
    """The pinned fingerprints: the inventory's list, or the known_hosts file read now
    (ValueError naming the file and line when it has become unreadable since loading)."""
    if known_hosts is None:
        return tuple(host_key)
    return tuple(sorted({k.fingerprint for k in read_known_hosts(known_hosts, host, port)}))


def judge(keys: Sequence[HostKey], expected: Sequence[str], target: str) -> Failure | None:
    """Unpinned: any key read is enough. Pinned: one key the server holds is pinned, which
    is what an OpenSSH client with the same known_hosts entry would accept."""
    if not keys:
        return Failure.of("host_key_unavailable", f"{target}: the server sent no host key")
    if not expected or any(k.fingerprint in expected for k in keys):
        return None
    observed = ", ".join(f"{k.type} {k.fingerprint}" for k in keys)
    return Failure.of(
        "host_key_mismatch",
        f"{target}: host key mismatch: expected {', '.join(expected)}; observed {observed}",
    )


async def check_host_keys(
    host: str,
    port: int,
    *,
    host_key: Sequence[str] = (),
    known_hosts: Path | None = None,
    timeout: float = 10.0,
) -> HostKeyResult:
    """Read the server's host keys and compare them with the pins; never raises."""
    target = f"{host}:{port}"
    try:
        expected = expected_fingerprints(host, port, host_key, known_hosts)
    except ValueError as exc:
        return HostKeyResult(failure=Failure.of("config_error", str(exc)))
    # -T is ssh-keyscan's per-connection idle timeout in whole seconds; run_tool's own
    # deadline bounds the whole run, so a slow server cannot outlast the probe's budget.
    idle = str(max(1, math.floor(timeout)))
    argv = ["ssh-keyscan", "-T", idle, "-t", _KEY_TYPES, "-p", str(port), "--", host]
    run = await run_tool(argv, timeout=timeout)
    if run.failure is not None:
        return HostKeyResult(expected=expected, failure=run.failure)
    keys = parse_keyscan(run.stdout)
    failure = judge(keys, expected, target)
    matched = None if not expected or not keys else failure is None
    return HostKeyResult(keys, expected, matched, failure)

"""SSH host keys an inventory pins: OpenSSH `SHA256:` fingerprints and `known_hosts` files.

Lives in the inventory layer because the loader validates a `known_hosts` file when the
inventory is loaded (a typo is a config error naming the file and line, not a failing probe
at 3 a.m.); the ssh check reads the same file again at probe time, so a rotated file counts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

# OpenSSH prints a SHA-256 digest (32 bytes) as 43 base64 characters, padding dropped.
FINGERPRINT_PATTERN = r"^SHA256:[A-Za-z0-9+/]{43}$"
_MARKERS = ("@cert-authority", "@revoked")
# The event carries every pin (`ssh_expected_fingerprints`, capped at the same number).
MAX_PINNED_KEYS = 20


@dataclass(frozen=True, slots=True)
class HostKey:
    """One host key: its algorithm name (`ssh-ed25519`) and OpenSSH SHA-256 fingerprint."""

    type: str
    fingerprint: str


def fingerprint(blob: bytes) -> str:
    """The OpenSSH form of a public key blob's SHA-256: `SHA256:` + unpadded base64."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def parse_key(key_type: str, encoded: str) -> HostKey | None:
    """The key of a `TYPE BASE64` pair, or None when the base64 is not a key of that type.

    The blob starts with its own type name (RFC 4253 6.6), so a line whose two halves
    disagree is refused rather than fingerprinted."""
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    name = key_type.encode("ascii", "replace")
    if blob[:4] != len(name).to_bytes(4, "big") or blob[4 : 4 + len(name)] != name:
        return None
    return HostKey(key_type, fingerprint(blob))


def host_pattern_name(host: str, port: int) -> str:
    """How OpenSSH writes a host in known_hosts: `host`, or `[host]:port` off port 22."""
    return host if port == 22 else f"[{host}]:{port}"


def _hashed_match(entry: str, name: str) -> bool:
    """`|1|salt|hash`: HMAC-SHA1 of the name keyed with the salt (`HashKnownHosts yes`)."""
    parts = entry.split("|")
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt, expected = base64.b64decode(parts[2]), base64.b64decode(parts[3])
    except (binascii.Error, ValueError):
        return False
    digest = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
    return hmac.compare_digest(digest, expected)


def _glob(pattern: str, name: str) -> bool:
    """OpenSSH's `match_pattern`: only `*` and `?` are special (`[` is literal, as in
    `[host]:2222`), case-insensitive."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch("".join(parts), name, re.IGNORECASE | re.DOTALL) is not None


def hosts_match(field: str, name: str) -> bool:
    """OpenSSH's rule for the host field: a comma list of patterns (`*`, `?`), hashed
    entries, and `!pattern` negations that veto the line even when another pattern matches."""
    matched = False
    for entry in field.split(","):
        if entry.startswith("|"):
            matched = matched or _hashed_match(entry, name)
        elif entry.startswith("!"):
            if _glob(entry[1:], name):
                return False
        elif _glob(entry, name):
            matched = True
    return matched


def _line_key(fields: list[str], where: str) -> HostKey:
    if len(fields) < 3:
        raise ValueError(f"{where}: not a known_hosts line (want `HOSTS TYPE BASE64`)")
    key = parse_key(fields[1], fields[2])
    if key is None:
        raise ValueError(f"{where}: the key is not valid base64 of a {fields[1][:40]} key")
    return key


def read_known_hosts(path: Path, host: str, port: int) -> list[HostKey]:
    """The plain keys `path` lists for host:port; ValueError naming `file:line` otherwise.

    `@cert-authority` and `@revoked` lines are skipped: the probe pins keys, it does not
    verify host certificates (documented with the `known_hosts` field)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read known_hosts file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"known_hosts file {path} is not UTF-8 text") from None
    name = host_pattern_name(host, port)
    keys: list[HostKey] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#") or fields[0] in _MARKERS:
            continue
        key = _line_key(fields, f"{path}:{number}")
        if hosts_match(fields[0], name) and key not in keys:
            keys.append(key)
    if not keys:
        raise ValueError(f"known_hosts file {path} has no key for {name}")
    if len(keys) > MAX_PINNED_KEYS:
        raise ValueError(f"known_hosts file {path} has over {MAX_PINNED_KEYS} keys for {name}")
    return keys

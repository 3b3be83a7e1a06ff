"""SSH host-key pins in the inventory: fingerprints as OpenSSH prints them, known_hosts files
read with OpenSSH's host rules, and every bad pin a load error naming file, line and key."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from ops_evidence.errors import ConfigError
from ops_evidence.inventory import load_inventory
from ops_evidence.inventory.host_keys import hosts_match, read_known_hosts
from tests.support import REPO, require_tool

PIN = "SHA256:ZRnOmbiqXqmXnFq7HexEBdigUY94dmteFSsF9D3gwgM"


@pytest.fixture(scope="module")
def host_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A fresh ed25519 public key line (`TYPE BASE64`) and the fingerprint ssh-keygen gives it."""
    keygen = require_tool("ssh-keygen", "openssh-client")
    key = tmp_path_factory.mktemp("hostkey") / "key"
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    shown = subprocess.run(
        [keygen, "-l", "-E", "sha256", "-f", f"{key}.pub"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    key_type, blob = Path(f"{key}.pub").read_text().split()[:2]
    return f"{key_type} {blob}", shown


def write_inventory(folder: Path, check: str) -> Path:
    """An inventory with one ssh access path whose check mapping is `check` (YAML flow)."""
    path = folder / "inventory.yaml"
    path.write_text(
        "version: 1\n"
        "environments:\n"
        "  - {id: local, role: test}\n"
        "access_paths:\n"
        "  - id: ssh\n"
        "    environment: local\n"
        f"    check: {check}\n"
    )
    return path


def load_error(path: Path) -> str:
    """The rendered ConfigError of loading `path` (the test fails if it loads)."""
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    return caught.value.render()


def test_fingerprint_matches_ssh_keygen(tmp_path: Path, host_key: tuple[str, str]) -> None:
    """A known_hosts key is fingerprinted exactly as `ssh-keygen -l -E sha256` prints it."""
    (tmp_path / "kh").write_text(f"[127.0.0.1]:2222 {host_key[0]}\n")
    keys = read_known_hosts(tmp_path / "kh", "127.0.0.1", 2222)
    assert [k.fingerprint for k in keys] == [host_key[1]]
    assert keys[0].type == "ssh-ed25519"


def test_hashed_known_hosts(tmp_path: Path, host_key: tuple[str, str]) -> None:
    """A file hashed by `ssh-keygen -H` still pins the key for its host, and no other."""
    keygen = require_tool("ssh-keygen", "openssh-client")
    path = tmp_path / "kh"
    path.write_text(f"[127.0.0.1]:2222 {host_key[0]}\n")
    subprocess.run([keygen, "-H", "-f", str(path)], check=True, capture_output=True)
    assert path.read_text().startswith("|1|")
    assert [k.fingerprint for k in read_known_hosts(path, "127.0.0.1", 2222)] == [host_key[1]]
    with pytest.raises(ValueError, match=r"has no key for \[127\.0\.0\.1\]:2223"):
        read_known_hosts(path, "127.0.0.1", 2223)


@pytest.mark.parametrize(
    ("field", "name", "expected"),
    [
        ("host.example,10.0.0.1", "10.0.0.1", True),
        ("*.example", "web.example", True),
        ("*.example,!db.example", "db.example", False),
        ("[host.example]:2222", "host.example", False),
        ("HOST.example", "host.example", True),
        ("web?.example", "web1.example", True),
    ],
)
def test_host_patterns(field: str, name: str, expected: bool) -> None:
    """Host fields follow OpenSSH: comma lists, wildcards, negation vetoes, ports in brackets."""
    assert hosts_match(field, name) is expected


def test_valid_pins_load(tmp_path: Path, host_key: tuple[str, str]) -> None:
    """A single fingerprint is a one-item list; a known_hosts file with the host loads."""
    inv = load_inventory(write_inventory(tmp_path, f"{{kind: ssh, host: h, host_key: '{PIN}'}}"))
    assert inv.access_paths[0].check.host_key == [PIN]  # type: ignore[union-attr]
    (tmp_path / "kh").write_text(f"# pinned\nh {host_key[0]}\n")
    check = f"{{kind: ssh, host: h, known_hosts: {tmp_path / 'kh'}}}"
    inv = load_inventory(write_inventory(tmp_path, check))
    assert inv.access_paths[0].check.known_hosts == tmp_path / "kh"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "bad",
    [
        "SHA256:abc",  # too short
        "ZRnOmbiqXqmXnFq7HexEBdigUY94dmteFSsF9D3gwgM",  # no prefix
        "MD5:65:1a:8c:8f:d3:79:4a:6c:4f:e1:8d:c2:bd:2f:23:6c",  # the old MD5 form
        PIN + "=",  # padded
    ],
)
def test_bad_fingerprint_shape(tmp_path: Path, bad: str) -> None:
    """A fingerprint not in OpenSSH's SHA256 form is a load error at its file line and key."""
    path = write_inventory(tmp_path, f"{{kind: ssh, host: h, host_key: ['{PIN}', '{bad}']}}")
    assert f"{path}:7: access_paths[0] (ssh).check.host_key[1]: not an OpenSSH host key" in (
        load_error(path)
    )


def test_missing_known_hosts_file(tmp_path: Path) -> None:
    """A known_hosts file that does not exist is a load error naming the inventory line and
    the missing file."""
    path = write_inventory(tmp_path, f"{{kind: ssh, host: h, known_hosts: {tmp_path}/nope}}")
    assert (
        f"{path}:7: access_paths[0] (ssh).check.known_hosts: cannot read known_hosts file"
        f" {tmp_path}/nope: No such file or directory"
    ) in load_error(path)


def test_repeated_known_hosts_lines(tmp_path: Path, host_key: tuple[str, str]) -> None:
    """The same key on several lines (say `h` and `h,10.0.0.1`) is one pin."""
    (tmp_path / "kh").write_text(f"h {host_key[0]}\nh,10.0.0.1 {host_key[0]}\n")
    assert [k.fingerprint for k in read_known_hosts(tmp_path / "kh", "h", 22)] == [host_key[1]]


def test_bad_known_hosts_line(tmp_path: Path, host_key: tuple[str, str]) -> None:
    """A malformed known_hosts line is named by the known_hosts file and its line number."""
    (tmp_path / "kh").write_text(f"h {host_key[0]}\nh ssh-ed25519 not-base64!\n")
    path = write_inventory(tmp_path, f"{{kind: ssh, host: h, known_hosts: {tmp_path / 'kh'}}}")
    assert f"{tmp_path / 'kh'}:2: the key is not valid base64 of a ssh-ed25519 key" in (
        load_error(path)
    )


def test_known_hosts_without_the_host(tmp_path: Path, host_key: tuple[str, str]) -> None:
    """A known_hosts file with no key for the path's host:port is refused at load."""
    (tmp_path / "kh").write_text(f"other {host_key[0]}\n")
    path = write_inventory(
        tmp_path, f"{{kind: ssh, host: h, port: 2222, known_hosts: {tmp_path / 'kh'}}}"
    )
    assert f"known_hosts file {tmp_path / 'kh'} has no key for [h]:2222" in load_error(path)


def test_both_pin_sources_refused(tmp_path: Path, host_key: tuple[str, str]) -> None:
    """`host_key` and `known_hosts` together are refused: one source of truth per path."""
    (tmp_path / "kh").write_text(f"h {host_key[0]}\n")
    check = f"{{kind: ssh, host: h, host_key: '{PIN}', known_hosts: {tmp_path / 'kh'}}}"
    assert "give `host_key` or `known_hosts`, not both" in load_error(
        write_inventory(tmp_path, check)
    )


def test_operations_doc_example_loads(tmp_path: Path) -> None:
    """The example in docs/operations.md, "Pinning SSH host keys", is a valid inventory."""
    doc = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Pinning SSH host keys") :]
    block = section[section.index("```yaml\n") + 8 : section.index("```\n", 8)]
    path = tmp_path / "inventory.yaml"
    path.write_text(f"version: 1\nenvironments:\n  - {{id: local, role: test}}\n{block}")
    [ssh] = load_inventory(path).access_paths
    assert ssh.check.host_key == [PIN]  # type: ignore[union-attr]


def test_pin_list_is_bounded(tmp_path: Path) -> None:
    """More pins than the event carries (20) are refused at load, as a list or a file."""
    pins = ", ".join(f"'SHA256:{n:043d}'" for n in range(21))
    path = write_inventory(tmp_path, f"{{kind: ssh, host: h, host_key: [{pins}]}}")
    assert ".check.host_key: List should have at most 20 items" in load_error(path)
    # Distinct keys of the right shape (type name, then 32 key bytes), one line each.
    prefix = len(b"ssh-ed25519").to_bytes(4, "big") + b"ssh-ed25519" + (32).to_bytes(4, "big")
    blobs = (base64.b64encode(prefix + bytes([n]) * 32).decode() for n in range(21))
    (tmp_path / "kh").write_text("".join(f"h ssh-ed25519 {b}\n" for b in blobs))
    path = write_inventory(tmp_path, f"{{kind: ssh, host: h, known_hosts: {tmp_path / 'kh'}}}")
    assert "has over 20 keys for h" in load_error(path)

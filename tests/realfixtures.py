"""Session fixtures that start the real servers and tools the check and probe tests use.

Loaded from the root conftest with `pytest_plugins`, so each server starts once per run.
A missing tool skips locally (`require_tool`) and fails under CI=true.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests import backup_tools, registry_tokens
from tests import real_servers as servers
from tests.support import require_tool


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian installs them side by side)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _postgres_bin()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> servers.Certs:
    """A test CA plus valid, 3-day and self-signed server certificates for 127.0.0.1."""
    openssl = require_tool("openssl")
    return servers.make_certs(tmp_path_factory.mktemp("certs"), openssl)


@pytest.fixture(scope="session")
def nginx(
    tmp_path_factory: pytest.TempPathFactory, certs: servers.Certs
) -> Iterator[servers.Nginx]:
    """nginx serving the test locations over HTTP and three TLS certificates."""
    require_tool("nginx")
    with servers.nginx(tmp_path_factory.mktemp("nginx"), certs) as ports:
        yield ports


@pytest.fixture(scope="session")
def registry(
    tmp_path_factory: pytest.TempPathFactory, certs: servers.Certs
) -> Iterator[servers.Registry]:
    """The real docker-registry with TLS and htpasswd auth (401 on /v2/ without login)."""
    require_tool("docker-registry")
    htpasswd = require_tool("htpasswd", "apache2-utils")
    with servers.docker_registry(tmp_path_factory.mktemp("registry"), certs, htpasswd) as reg:
        yield reg


@pytest.fixture(scope="session")
def registry_deletes(
    tmp_path_factory: pytest.TempPathFactory, certs: servers.Certs
) -> Iterator[servers.Registry]:
    """docker-registry with htpasswd auth and `storage.delete.enabled: true`."""
    require_tool("docker-registry")
    htpasswd = require_tool("htpasswd", "apache2-utils")
    folder = tmp_path_factory.mktemp("registry-deletes")
    with servers.docker_registry(folder, certs, htpasswd, delete=True) as reg:
        yield reg


@dataclass(frozen=True)
class TokenRegistry:
    """docker-registry in `auth: token` mode and the test's token issuer it trusts."""

    registry: servers.Registry
    issuer: registry_tokens.TokenIssuer


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, certs: servers.Certs
) -> Iterator[TokenRegistry]:
    """docker-registry trusting tokens from a test issuer: `REGISTRY_USER` may pull, push and
    delete, `NO_DELETE_USER` pull and push, `PULL_ONLY_USER` only pull; deletes enabled."""
    require_tool("docker-registry")
    folder = tmp_path_factory.mktemp("registry-token")
    users = {
        servers.REGISTRY_USER: (
            servers.REGISTRY_PASSWORD,
            frozenset({"pull", "push", "delete", "*"}),
        ),
        servers.PULL_ONLY_USER: (servers.PULL_ONLY_PASSWORD, frozenset({"pull"})),
        servers.NO_DELETE_USER: (servers.REGISTRY_PASSWORD, frozenset({"pull", "push"})),
    }
    with registry_tokens.token_issuer(certs.valid, users) as issuer:
        auth = servers.TokenAuth(
            realm=issuer.realm,
            service=registry_tokens.SERVICE,
            issuer=registry_tokens.ISSUER,
            rootcertbundle=issuer.key.write_bundle(folder / "token-root.pem"),
        )
        with servers.docker_registry(folder, certs, "", delete=True, token=auth) as reg:
            yield TokenRegistry(reg, issuer)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Sshd]:
    """OpenSSH sshd on a high loopback port, with ed25519 and ECDSA host keys."""
    binary = require_tool("sshd", "openssh-server")
    keygen = require_tool("ssh-keygen", "openssh-client")
    require_tool("ssh-keyscan", "openssh-client")  # what the ssh check reads host keys with
    with servers.sshd(tmp_path_factory.mktemp("sshd"), binary, keygen) as server:
        yield server


@pytest.fixture(scope="session")
def sshd_port(sshd: servers.Sshd) -> int:
    """The port of `sshd`, for tests that only need something speaking SSH."""
    return sshd.port


DNS_RECORDS: dict[str, str | tuple[str, ...]] = {
    "registry.test": "127.0.0.7",
    "moved.test": "127.0.0.9",
    "v6.test": "fd00::7",
    servers.MULTI_NAME: servers.MULTI_ADDRESSES,
    servers.DUAL_NAME: servers.DUAL_ADDRESSES,
}


@pytest.fixture(scope="session")
def dns_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """dnsmasq answering `DNS_RECORDS` on a high loopback port."""
    binary = require_tool("dnsmasq", "dnsmasq-base")
    with servers.dnsmasq(tmp_path_factory.mktemp("dnsmasq"), binary, DNS_RECORDS) as port:
        yield port


@pytest.fixture(scope="session")
def multi_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.MultiAddress]:
    """nginx for `multi.test` on 127.0.0.1 and 127.0.0.2 (one port on the first only), and
    for `dual.test` on 127.0.0.1 and [::1]."""
    require_tool("nginx")
    with servers.multi_address_nginx(tmp_path_factory.mktemp("multi-nginx")) as ports:
        yield ports


@pytest.fixture(scope="session")
def restic_fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A restic repository whose only snapshot was taken just now."""
    binary = require_tool("restic")
    return backup_tools.restic_repo(tmp_path_factory.mktemp("restic-fresh"), binary, when=None)


@pytest.fixture(scope="session")
def restic_stale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A restic repository whose only snapshot is backdated three days (`--time`)."""
    binary = require_tool("restic")
    when = datetime.now(UTC) - backup_tools.STALE
    return backup_tools.restic_repo(tmp_path_factory.mktemp("restic-stale"), binary, when=when)


@pytest.fixture(scope="session")
def borg_fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A borg repository whose only archive was created just now."""
    binary = require_tool("borg", "borgbackup")
    return backup_tools.borg_repo(tmp_path_factory.mktemp("borg-fresh"), binary, when=None)


@pytest.fixture(scope="session")
def borg_stale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A borg repository whose only archive is backdated three days (`--timestamp`)."""
    binary = require_tool("borg", "borgbackup")
    when = datetime.now(UTC) - backup_tools.STALE
    return backup_tools.borg_repo(tmp_path_factory.mktemp("borg-stale"), binary, when=when)


@pytest.fixture
def borg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """borg keeps its cache and security state under BORG_BASE_DIR; give it a temp one."""
    monkeypatch.setenv("BORG_BASE_DIR", str(tmp_path / "borg-base"))
    return tmp_path


@pytest.fixture(scope="session")
def pgbackrest() -> Iterator[backup_tools.PgBackRest]:
    """A pgBackRest repository with one full backup of a throwaway PostgreSQL."""
    binary = require_tool("pgbackrest")
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL not installed (apt-get install postgresql)")
    with backup_tools.pgbackrest_repo(PG_BIN, binary) as repo:
        yield repo

"""Real servers and tools for integration tests and benchmarks, started on 127.0.0.1.

Every launcher returns a context manager that starts the real program with a temporary
config, polls (with a deadline) until it answers, and stops it by its own pid afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import trustme

from tests.tls_chains import Chain, short_intermediate_chain

LOOPBACK = "127.0.0.1"
REGISTRY_USER = "probe-user"
REGISTRY_PASSWORD = "canary-Registry-Passw0rd-7f3e"
# A token-auth user whose issuer grants only `pull` (htpasswd auth has no per-user rights).
PULL_ONLY_USER = "pull-only-user"
PULL_ONLY_PASSWORD = "canary-PullOnly-Passw0rd-41c9"
# A token-auth user granted pull and push but not delete.
NO_DELETE_USER = "no-delete-user"
KUBE_TOKEN = "canary-Kube-Token-0c1d2e3f"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(ready: Callable[[], bool], what: str, deadline: float = 20.0) -> None:
    """Poll `ready` until it is true; fail with `what` when the deadline passes."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if ready():
            return
        time.sleep(0.02)  # polling interval, not synchronisation: readiness is checked
    raise TimeoutError(f"{what} did not become ready in {deadline}s")


def port_open(port: int) -> bool:
    """True when something accepts connections on loopback:port."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def running(argv: Sequence[str], ready: Callable[[], bool], what: str, log: Path) -> Iterator[None]:
    """Run `argv` until the block ends; its output goes to `log`."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            try:
                wait_until(lambda: process.poll() is None and ready(), what)
            except TimeoutError:
                raise TimeoutError(f"{what}: {log.read_text(errors='replace')[-2000:]}") from None
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# A leaf 2.99 days from expiry when made: read back (minutes later) as 2.9 days left.
ALMOST_THREE_DAYS = timedelta(days=2.99)
# The intermediate of `Certs.short` expires after 20 days, its leaf after 300.
SHORT_INTERMEDIATE_DAYS, SHORT_LEAF_DAYS = 20, 300


@dataclass(frozen=True)
class Certs:
    """A test CA and server certificates for 127.0.0.1 / localhost.

    `almost_three` is signed by `ca_file` and has 2.99 days left; `short` is its own chain
    (root in `short.ca_file`) whose intermediate expires before the leaf.
    """

    ca_file: Path
    valid: tuple[Path, Path]
    expiring: tuple[Path, Path]
    self_signed: tuple[Path, Path]
    almost_three: tuple[Path, Path]
    short: Chain


def make_certs(folder: Path, openssl: str) -> Certs:
    """CA-signed (valid 1 year, expiring in 3 days) by trustme; self-signed by openssl."""
    ca = trustme.CA()
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    def leaf(name: str, not_after: datetime | None) -> tuple[Path, Path]:
        cert = ca.issue_cert(LOOPBACK, "localhost", not_after=not_after)
        chain, key = folder / f"{name}.pem", folder / f"{name}.key"
        chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        cert.private_key_pem.write_to_path(str(key))
        return chain, key

    expiry = datetime.now().astimezone() + timedelta(days=3, hours=1)
    signed = folder / "self.pem", folder / "self.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-days",
            "30",
            "-keyout",
            str(signed[1]),
            "-out",
            str(signed[0]),
        ],
        check=True,
        capture_output=True,
    )
    almost = datetime.now().astimezone() + ALMOST_THREE_DAYS
    short = short_intermediate_chain(folder, SHORT_INTERMEDIATE_DAYS, SHORT_LEAF_DAYS)
    return Certs(
        ca_file,
        leaf("valid", None),
        leaf("expiring", expiry),
        signed,
        leaf("almost-three", almost),
        short,
    )


def _nginx_locations() -> str:
    return """
        location /v2/ { add_header Docker-Distribution-Api-Version registry/2.0 always;
                        return 401; }
        location = /health { default_type application/json;
                             return 200 '{"status": "ok", "version": "1.25.4"}'; }
        location = /busy { return 503; }
        location = /version { if ($http_authorization != "Bearer %s") { return 401; }
                              default_type application/json;
                              return 200 '{"gitVersion": "v1.30.2", "platform": "linux/amd64"}'; }
        location = /not-json { default_type application/json; return 200 'not json'; }
        location = /moved { return 302 /health; }
        location = /big { default_type text/plain; return 200 '%s'; }
        location = /backup-status { default_type application/json; return 200
            '{"last_backup_at": "%s", "size": 4096, "ok": true}'; }
    """ % (KUBE_TOKEN, "x" * 4000, datetime.now().astimezone().isoformat())  # noqa: UP031 - nginx braces


@dataclass(frozen=True)
class Nginx:
    """Ports of the started nginx: plain HTTP and five TLS servers (`Certs`' certificates)."""

    http: int
    valid: int
    expiring: int
    self_signed: int
    almost_three: int
    short_intermediate: int


def nginx_config(folder: Path, certs: Certs | None, ports: Nginx) -> str:
    """An nginx.conf that keeps every file in `folder` and serves the test locations."""
    servers = [f"server {{ listen {LOOPBACK}:{ports.http}; {_nginx_locations()} }}"]
    if certs is not None:
        for port, (chain, key) in (
            (ports.valid, certs.valid),
            (ports.expiring, certs.expiring),
            (ports.self_signed, certs.self_signed),
            (ports.almost_three, certs.almost_three),
            (ports.short_intermediate, (certs.short.chain, certs.short.key)),
        ):
            servers.append(
                f"server {{ listen {LOOPBACK}:{port} ssl; ssl_certificate {chain}; "
                f"ssl_certificate_key {key}; {_nginx_locations()} }}"
            )
    return _nginx_main(folder, servers)


def _nginx_main(folder: Path, servers: Sequence[str]) -> str:
    """The main nginx.conf around `servers`, every file kept in `folder`."""
    user = "user root;" if os.geteuid() == 0 else ""
    temp = " ".join(
        f"{kind}_temp_path {folder}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user} daemon off; worker_processes 1; pid {folder}/nginx.pid; "
        f"error_log {folder}/error.log warn; events {{ worker_connections 512; }} "
        f"http {{ access_log off; {temp} {' '.join(servers)} }}"
    )


@contextmanager
def nginx(folder: Path, certs: Certs | None) -> Iterator[Nginx]:
    """nginx on six loopback ports (TLS ones only when `certs` is given)."""
    ports = Nginx(*(free_port() for _ in range(6)))
    config = folder / "nginx.conf"
    config.write_text(nginx_config(folder, certs, ports))
    argv = [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(folder), "-c", str(config)]
    with running(argv, lambda: port_open(ports.http), "nginx", folder / "nginx.log"):
        yield ports


MULTI_NAME = "multi.test"
MULTI_ADDRESSES = ("127.0.0.1", "127.0.0.2")
# A name with an A and an AAAA record, served on the `both` port too.
DUAL_NAME = "dual.test"
DUAL_ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class MultiAddress:
    """nginx for `MULTI_NAME` on several loopback addresses: ports and the CA it trusts."""

    both: int
    """HTTP on every address of `MULTI_ADDRESSES` and of `DUAL_ADDRESSES`."""
    first_only: int
    """HTTP on the first address only: the others refuse."""
    tls_both: int
    """HTTPS on every address, with a certificate for `MULTI_NAME` only."""
    ca_file: Path


@contextmanager
def multi_address_nginx(folder: Path) -> Iterator[MultiAddress]:
    """nginx answering 200 on `/health` only for Host `MULTI_NAME` or `DUAL_NAME` (421 for
    any other Host)."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert = ca.issue_cert(MULTI_NAME)
    cert.private_key_and_cert_chain_pem.write_to_path(str(folder / "multi.pem"))
    ports = MultiAddress(free_port(), free_port(), free_port(), folder / "ca.pem")
    listens = [f"{a}:{ports.both}" for a in (*MULTI_ADDRESSES, "[::1]")]
    listens.append(f"{MULTI_ADDRESSES[0]}:{ports.first_only}")
    listens += [f"{a}:{ports.tls_both} ssl" for a in MULTI_ADDRESSES]
    tls = f"ssl_certificate {folder}/multi.pem; ssl_certificate_key {folder}/multi.pem;"
    body = "location = /health { default_type application/json; return 200 '{\"ok\": 1}'; }"
    default = " ".join(f"listen {a} default_server;" for a in listens)
    named = " ".join(f"listen {a};" for a in listens)
    servers = [
        f"server {{ {default} {tls} return 421; }}",
        f"server {{ {named} {tls} server_name {MULTI_NAME} {DUAL_NAME}; {body} }}",
    ]
    config = folder / "nginx.conf"
    config.write_text(_nginx_main(folder, servers))
    argv = [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(folder), "-c", str(config)]
    with running(argv, lambda: port_open(ports.tls_both), "nginx", folder / "nginx.log"):
        yield ports


@dataclass(frozen=True)
class Registry:
    """The started docker-registry: its TLS port and the CA that signed its certificate."""

    port: int
    ca_file: Path


@dataclass(frozen=True)
class TokenAuth:
    """`auth: token` settings for docker-registry: the issuer's realm and trust root."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


def _registry_auth(folder: Path, htpasswd: str, token: TokenAuth | None) -> str:
    if token is not None:
        return (
            f"auth: {{token: {{realm: '{token.realm}', service: {token.service},"
            f" issuer: {token.issuer}, rootcertbundle: {token.rootcertbundle}}}}}\n"
        )
    users = subprocess.run(
        [htpasswd, "-Bbn", REGISTRY_USER, REGISTRY_PASSWORD],  # test-only canary password
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (folder / "htpasswd").write_text(users)
    return f"auth: {{htpasswd: {{realm: test, path: {folder}/htpasswd}}}}\n"


@contextmanager
def docker_registry(
    folder: Path,
    certs: Certs,
    htpasswd: str,
    *,
    delete: bool | None = None,
    token: TokenAuth | None = None,
) -> Iterator[Registry]:
    """The real OCI distribution registry with TLS and bcrypt htpasswd auth (or `token`
    auth); `delete` sets `storage.delete.enabled` (unset: the registry's default, off)."""
    port = free_port()
    chain, key = certs.valid
    deletes = "" if delete is None else f", delete: {{enabled: {str(delete).lower()}}}"
    (folder / "registry.yml").write_text(
        f"version: 0.1\nlog: {{level: error}}\n"
        f"storage: {{filesystem: {{rootdirectory: {folder}/data}}{deletes}}}\n"
        f"http: {{addr: '{LOOPBACK}:{port}', secret: test-only-secret,"
        f" tls: {{certificate: {chain}, key: {key}}}}}\n" + _registry_auth(folder, htpasswd, token)
    )
    argv = ["/usr/bin/docker-registry", "serve", str(folder / "registry.yml")]
    with running(argv, lambda: port_open(port), "docker-registry", folder / "registry.log"):
        yield Registry(port, certs.ca_file)


@dataclass(frozen=True)
class Sshd:
    """A running sshd: its port, its host keys' public halves (`KEY.pub` files), and the
    ssh-keygen that made them (OpenSSH's own fingerprints, to test ours against)."""

    port: int
    public_keys: tuple[Path, ...]
    keygen: str

    def fingerprint(self, public_key: Path) -> str:
        """The SHA256 fingerprint `ssh-keygen -l` prints for a public key file."""
        argv = [self.keygen, "-l", "-E", "sha256", "-f", str(public_key)]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()[1]

    def other_key(self, folder: Path) -> Path:
        """A fresh ed25519 public key file this server does not hold."""
        key = folder / "other_ed25519"
        subprocess.run([self.keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        return key.with_suffix(".pub")

    def known_hosts(self, folder: Path, *public_keys: Path) -> Path:
        """A known_hosts file listing `public_keys` for this server's `[127.0.0.1]:port`."""
        path = folder / "known_hosts"
        lines = (" ".join(key.read_text().split()[:2]) for key in public_keys)
        path.write_text("".join(f"[{LOOPBACK}]:{self.port} {line}\n" for line in lines))
        return path


@contextmanager
def sshd(folder: Path, binary: str, keygen: str) -> Iterator[Sshd]:
    """OpenSSH's sshd on a high loopback port with fresh ed25519 and ECDSA host keys."""
    keys = [folder / "host_ed25519", folder / "host_ecdsa"]
    for key, kind in zip(keys, ("ed25519", "ecdsa"), strict=True):
        subprocess.run([keygen, "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
    port = free_port()
    host_keys = "".join(f"HostKey {key}\n" for key in keys)
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress {LOOPBACK}\n{host_keys}PidFile {folder}/sshd.pid\n"
        "UsePAM no\nStrictModes no\nPasswordAuthentication no\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory sshd insists on
    argv = [binary, "-D", "-e", "-f", str(folder / "sshd_config")]
    with running(argv, lambda: port_open(port), "sshd", folder / "sshd.log"):
        yield Sshd(port, tuple(key.with_suffix(".pub") for key in keys), keygen)


def _answers_dns(port: int) -> bool:
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [LOOPBACK], port, 0.3
    try:
        resolver.resolve("ready.test", "A")
    except dns.exception.DNSException:
        return False
    return True


@contextmanager
def dnsmasq(
    folder: Path, binary: str, records: Mapping[str, str | tuple[str, ...]]
) -> Iterator[int]:
    """dnsmasq answering only `records` (name -> one address or several) for names under
    `.test` on a high loopback port; a type a name has no record of is answered empty."""
    port = free_port()
    addresses = [
        f"--host-record={name},{address}"
        for name, value in records.items()
        for address in ((value,) if isinstance(value, str) else value)
    ]
    argv = [
        binary,
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        f"--port={port}",
        f"--listen-address={LOOPBACK}",
        "--bind-interfaces",
        f"--pid-file={folder}/dnsmasq.pid",
        # Local: answered from the records alone, so a missing AAAA is an empty answer
        # (NODATA), as from a real authoritative server, not a refusal to forward.
        "--local=/test/",
        "--host-record=ready.test,127.0.0.1",
        *addresses,
    ]
    if os.geteuid() == 0:
        argv.append("--user=root")  # keep running as root instead of a missing `dnsmasq` user
    with running(argv, lambda: _answers_dns(port), "dnsmasq", folder / "dnsmasq.log"):
        yield port

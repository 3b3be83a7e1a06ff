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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import trustme

LOOPBACK = "127.0.0.1"
REGISTRY_USER = "probe-user"
REGISTRY_PASSWORD = "canary-Registry-Passw0rd-7f3e"
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


@dataclass(frozen=True)
class Certs:
    """A test CA and three server certificates for 127.0.0.1 / localhost."""

    ca_file: Path
    valid: tuple[Path, Path]
    expiring: tuple[Path, Path]
    self_signed: tuple[Path, Path]


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
    return Certs(ca_file, leaf("valid", None), leaf("expiring", expiry), signed)


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
    """Ports of the started nginx: plain HTTP and three TLS servers."""

    http: int
    valid: int
    expiring: int
    self_signed: int


def nginx_config(folder: Path, certs: Certs | None, ports: Nginx) -> str:
    """An nginx.conf that keeps every file in `folder` and serves the test locations."""
    user = "user root;" if os.geteuid() == 0 else ""
    temp = " ".join(
        f"{kind}_temp_path {folder}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    servers = [f"server {{ listen {LOOPBACK}:{ports.http}; {_nginx_locations()} }}"]
    if certs is not None:
        for port, (chain, key) in (
            (ports.valid, certs.valid),
            (ports.expiring, certs.expiring),
            (ports.self_signed, certs.self_signed),
        ):
            servers.append(
                f"server {{ listen {LOOPBACK}:{port} ssl; ssl_certificate {chain}; "
                f"ssl_certificate_key {key}; {_nginx_locations()} }}"
            )
    return (
        f"{user} daemon off; worker_processes 1; pid {folder}/nginx.pid; "
        f"error_log {folder}/error.log warn; events {{ worker_connections 512; }} "
        f"http {{ access_log off; {temp} {' '.join(servers)} }}"
    )


@contextmanager
def nginx(folder: Path, certs: Certs | None) -> Iterator[Nginx]:
    """nginx on four loopback ports (TLS ones only when `certs` is given)."""
    ports = Nginx(free_port(), free_port(), free_port(), free_port())
    config = folder / "nginx.conf"
    config.write_text(nginx_config(folder, certs, ports))
    argv = [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(folder), "-c", str(config)]
    with running(argv, lambda: port_open(ports.http), "nginx", folder / "nginx.log"):
        yield ports


@dataclass(frozen=True)
class Registry:
    """The started docker-registry: its TLS port and the CA that signed its certificate."""

    port: int
    ca_file: Path


@contextmanager
def docker_registry(folder: Path, certs: Certs, htpasswd: str) -> Iterator[Registry]:
    """The real OCI distribution registry with TLS and bcrypt htpasswd auth."""
    users = subprocess.run(
        [htpasswd, "-Bbn", REGISTRY_USER, REGISTRY_PASSWORD],  # test-only canary password
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (folder / "htpasswd").write_text(users)
    port = free_port()
    chain, key = certs.valid
    (folder / "registry.yml").write_text(
        f"version: 0.1\nlog: {{level: error}}\n"
        f"storage: {{filesystem: {{rootdirectory: {folder}/data}}}}\n"
        f"http: {{addr: '{LOOPBACK}:{port}', secret: test-only-secret,"
        f" tls: {{certificate: {chain}, key: {key}}}}}\n"
        f"auth: {{htpasswd: {{realm: test, path: {folder}/htpasswd}}}}\n"
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
def dnsmasq(folder: Path, binary: str, records: dict[str, str]) -> Iterator[int]:
    """dnsmasq answering only `records` (name -> address) on a high loopback port."""
    port = free_port()
    addresses = [f"--address=/{name}/{address}" for name, address in records.items()]
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
        "--address=/ready.test/127.0.0.1",
        *addresses,
    ]
    if os.geteuid() == 0:
        argv.append("--user=root")  # keep running as root instead of a missing `dnsmasq` user
    with running(argv, lambda: _answers_dns(port), "dnsmasq", folder / "dnsmasq.log"):
        yield port
